// `npm run images [-- --if-missing] [--force] [--images-dir DIR]`
// Builds the default guest image ("Cirrus Tiny Linux") into the image catalog
// (<data>/images). `--if-missing` returns at once when it is already built;
// `npm start` and `npm test` call it that way.
import path from 'node:path';
import { DEFAULT_IMAGE_ID, ImageCatalog, defaultImagesDir } from '../server/hypervisor/images/catalog';
import { buildTinyLinux, TINY_LINUX_BUILD_VERSION } from './images/build-tiny-linux';

interface SystemPackagesModule {
  ensureSystemPackages: (pkgs: { pkg: string; check: string[] }[], why: string) => boolean;
  ensureAptUpdated: () => boolean;
}

// 1. Arguments ---------------------------------------------------------------

const argv = process.argv.slice(2);
const ifMissing = argv.includes('--if-missing');
const force = argv.includes('--force');
const dirFlag = argv.indexOf('--images-dir');
const imagesDir = path.resolve(dirFlag >= 0 && argv[dirFlag + 1] ? argv[dirFlag + 1]! : defaultImagesDir());

const log = (msg: string) => console.log(`[images] ${msg}`);

// 2. Build --------------------------------------------------------------------

async function main(): Promise<number> {
  const catalog = new ImageCatalog(imagesDir);
  const existing = catalog.find(DEFAULT_IMAGE_ID);
  const current = existing !== null && existing.buildVersion === TINY_LINUX_BUILD_VERSION;
  if (current && !force) {
    log(`${existing.name} is built (${existing.dir})${ifMissing ? '' : '; --force rebuilds it'}`);
    return 0;
  }
  if (existing && !current) log(`${existing.name} was built by an older recipe; rebuilding`);
  // Plain JS shared with setup (runs before npm ci), loaded untyped.
  const spec = new URL('./lib/system-packages.mjs', import.meta.url).href;
  const sys = (await import(spec)) as SystemPackagesModule;
  const ok = sys.ensureSystemPackages(
    [
      { pkg: 'qemu-system-x86', check: ['/usr/bin/qemu-system-x86_64'] },
      { pkg: 'qemu-utils', check: ['/usr/bin/qemu-img'] },
      { pkg: 'xz-utils', check: ['/usr/bin/xz'] },
    ],
    'Cirrus guests (QEMU)',
  );
  if (!ok) {
    console.error('[images] QEMU is missing; install it with the command above, then run: npm run images');
    return 1;
  }
  const started = Date.now();
  const dir = await buildTinyLinux({ imagesDir, log, aptUpdate: () => sys.ensureAptUpdated() });
  log(`built Cirrus Tiny Linux in ${((Date.now() - started) / 1000).toFixed(1)} s: ${dir}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[images] failed to build the default image: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
