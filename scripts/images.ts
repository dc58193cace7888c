// `npm run images [-- --if-missing] [--force] [--only ID] [--images-dir DIR]`
// Builds the guest images into the image catalog (<data>/images): first
// "Cirrus Tiny Linux" (the default image), then "Debian 12 (bookworm)".
// An image that is built and current is left alone (`--if-missing` says so
// and returns; `npm start` and `npm test` call it that way); one built by an
// older recipe is rebuilt; `--force` rebuilds; `--only` picks one image.
import path from 'node:path';
import { dataDir } from '../server/config/paths';
import { ImageCatalog, type GuestImage } from '../server/hypervisor/images/catalog';
import { reachableDir } from '../server/runtime/reachable';
import { buildDebian } from './images/build-debian';
import { buildTinyLinux, TINY_LINUX_BUILD_VERSION, TINY_LINUX_ID, TINY_LINUX_NAME } from './images/build-tiny-linux';
import { DEBIAN_ID, DEBIAN_NAME, debianRecipe, recipeHash } from './images/debian-recipe';

interface SystemPackage {
  pkg: string;
  check: string[];
}

interface SystemPackagesModule {
  ensureSystemPackages: (pkgs: SystemPackage[], why: string) => boolean;
  ensureAptUpdated: () => boolean;
}

interface ImageTarget {
  id: string;
  name: string;
  /** Why a built image must be rebuilt, or null when it is current. */
  stale: (existing: GuestImage) => string | null;
  /** What "current" means for it, for the log. */
  current: string;
  packages: SystemPackage[];
  why: string;
  build: (sys: SystemPackagesModule) => Promise<string>;
}

// 1. Arguments ---------------------------------------------------------------

const argv = process.argv.slice(2);
const ifMissing = argv.includes('--if-missing');
const force = argv.includes('--force');
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
// The catalog is read by guests' QEMU, each running as a user of its own: made where they can reach it.
const imagesDir = path.resolve(flag('--images-dir') || reachableDir(dataDir(), 'images', { mode: 0o755, log: console.log }));
const only = argv.includes('--only') ? (flag('--only') ?? '') : null;

const log = (msg: string) => console.log(`[images] ${msg}`);
/** One line, whatever the error carried. */
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, '; ').trim();

// 2. The images ----------------------------------------------------------------

const QEMU_IMG: SystemPackage = { pkg: 'qemu-utils', check: ['/usr/bin/qemu-img'] };

const targets: ImageTarget[] = [
  {
    id: TINY_LINUX_ID,
    name: TINY_LINUX_NAME,
    stale: (existing) => (existing.buildVersion === TINY_LINUX_BUILD_VERSION ? null : 'it was built by an older recipe'),
    current: `build version ${TINY_LINUX_BUILD_VERSION}`,
    packages: [
      { pkg: 'qemu-system-x86', check: ['/usr/bin/qemu-system-x86_64'] },
      QEMU_IMG,
      { pkg: 'xz-utils', check: ['/usr/bin/xz'] },
    ],
    why: 'Cirrus guests (QEMU)',
    build: (sys) => buildTinyLinux({ imagesDir, log, aptUpdate: () => sys.ensureAptUpdated() }),
  },
  {
    id: DEBIAN_ID,
    name: DEBIAN_NAME,
    stale: (existing) => {
      const want = recipeHash(debianRecipe());
      if (existing.recipeHash === want) return null;
      return `its recipe changed (built from ${existing.recipeHash ? existing.recipeHash.slice(0, 12) : 'no recipe hash'}, now ${want.slice(0, 12)})`;
    },
    current: 'its recipe hash matches',
    packages: [
      { pkg: 'mmdebstrap', check: ['/usr/bin/mmdebstrap'] },
      { pkg: 'debian-archive-keyring', check: ['/usr/share/keyrings/debian-archive-keyring.gpg'] },
      { pkg: 'e2fsprogs', check: ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'] },
      QEMU_IMG,
    ],
    why: 'the Debian 12 image (mmdebstrap, mkfs.ext4, qemu-img)',
    build: () => buildDebian({ imagesDir, log }),
  },
];

// 3. Build ---------------------------------------------------------------------

async function ensureBuilt(target: ImageTarget, catalog: ImageCatalog, sys: SystemPackagesModule): Promise<boolean> {
  const existing = catalog.find(target.id);
  const staleReason = existing ? target.stale(existing) : null;
  if (existing && !staleReason && !force) {
    log(`${existing.name} is built (${existing.dir}, ${target.current}); ${ifMissing ? 'skipping' : '--force rebuilds it'}`);
    return true;
  }
  if (existing) log(`rebuilding ${target.name}: ${staleReason ?? '--force'}`);
  if (!sys.ensureSystemPackages(target.packages, target.why)) {
    console.error(`[images] failed to build ${target.name}: missing ${target.packages.map((p) => p.pkg).join(', ')} (install them with the command above)`);
    return false;
  }
  const started = Date.now();
  try {
    const dir = await target.build(sys);
    log(`built ${target.name} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${dir}`);
    return true;
  } catch (err) {
    console.error(`[images] failed to build ${target.name}: ${oneLine(err)}`);
    return false;
  }
}

async function main(): Promise<number> {
  const chosen = only === null ? targets : targets.filter((t) => t.id === only);
  if (chosen.length === 0) {
    console.error(`[images] --only ${only || '(no id)'}: no such image; have ${targets.map((t) => t.id).join(', ')}`);
    return 1;
  }
  // Plain JS shared with setup (runs before npm ci), loaded untyped.
  const spec = new URL('./lib/system-packages.mjs', import.meta.url).href;
  const sys = (await import(spec)) as SystemPackagesModule;
  const catalog = new ImageCatalog(imagesDir);
  let ok = true;
  for (const target of chosen) ok = (await ensureBuilt(target, catalog, sys)) && ok;
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[images] failed: ${oneLine(err)}`);
    process.exit(1);
  },
);
