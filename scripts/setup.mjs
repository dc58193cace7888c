// Sets Cirrus up on this machine, doing only what is missing or stale:
//   1. Node.js version  2. npm ci when package-lock.json changed  3. Debian packages
//   (Chromium for the e2e tests with --with-browser)  4. guest images  5. the production build.
// Usage: node scripts/setup.mjs [--with-browser] [--no-build] [--no-images]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureSystemPackages } from './lib/system-packages.mjs';
import { bin, hashTree, log, root, run } from './lib/steps.mjs';

const args = new Set(process.argv.slice(2));

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`[cirrus] Node.js 20.19 or newer is needed; this is ${process.versions.node}.`);
    process.exit(1);
  }
}

export function ensureDependencies() {
  const stamp = path.join(root, 'node_modules', '.cirrus-lock-hash');
  const want = hashTree(['package-lock.json', 'package.json']);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  log('installing npm dependencies (npm ci)…');
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (ci.status !== 0) {
    const why = /in sync/.test(ci.stderr ?? '') ? 'npm ci refused the lockfile' : `npm ci failed:\n${(ci.stderr ?? '').slice(-2000)}`;
    // A registry mirror that carries only this platform's builds of packages with
    // per-platform optional dependencies (Next's SWC, Tailwind's oxide) makes
    // `npm ci` call the lockfile out of sync. `npm install` honours the same
    // lockfile and installs the same versions.
    log(`${why}; installing the same locked versions with npm install…`);
    if (run('npm', ['install', '--no-audit', '--no-fund']) !== 0) {
      console.error('[cirrus] installing the npm dependencies failed.');
      process.exit(1);
    }
  }
  fs.writeFileSync(stamp, want);
}

export function ensureBrowser() {
  const ok = ensureSystemPackages(
    [{ pkg: 'chromium', check: ['/usr/bin/chromium'] }, { pkg: 'fonts-dejavu-core', check: ['/usr/share/fonts/truetype/dejavu'] }],
    'The end-to-end tests (Playwright drives Debian’s Chromium)',
  );
  if (!ok) process.exit(1);
}

/**
 * Tenant networks need iproute2, nftables and dnsmasq on the host. Without
 * them Cirrus still runs (NICs fall back to user-mode networking and the host
 * says why), so a failure here is a warning unless `required`.
 */
export function ensureNetworkPackages({ required }) {
  const ok = ensureSystemPackages(
    [
      { pkg: 'iproute2', check: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'] },
      { pkg: 'nftables', check: ['/usr/sbin/nft', '/sbin/nft'] },
      { pkg: 'dnsmasq-base', check: ['/usr/sbin/dnsmasq', '/sbin/dnsmasq'] },
    ],
    'Tenant networks (bridges, nftables and a DHCP server per network)',
  );
  if (!ok && required) process.exit(1);
  if (!ok) console.error('[cirrus] warning: without these, guests get user-mode networking only.');
}

/**
 * What the driver needs beside QEMU (which scripts/images.ts installs): genisoimage
 * makes the cloud-init seed of every Debian guest, ssh logs into them (tests, and
 * the SSH check of the benchmark).
 */
export function ensureGuestTools({ required }) {
  const ok = ensureSystemPackages(
    [
      { pkg: 'genisoimage', check: ['/usr/bin/genisoimage'] },
      { pkg: 'openssh-client', check: ['/usr/bin/ssh', '/usr/bin/ssh-keygen'] },
    ],
    'Cloud-init seeds for guests, and SSH into them',
  );
  if (!ok && required) process.exit(1);
  if (!ok) console.error('[cirrus] warning: without genisoimage, images that run cloud-init cannot launch.');
}

/**
 * Debian's AWS CLI and boto3: the tests drive Cirrus's EC2 API with them, as
 * its users do. Cirrus itself runs without them.
 */
export function ensureAwsTools({ required }) {
  const ok = ensureSystemPackages(
    [
      { pkg: 'awscli', check: ['/usr/bin/aws'] },
      { pkg: 'python3-boto3', check: ['/usr/lib/python3/dist-packages/boto3'] },
    ],
    'The EC2 API tests (they run the AWS CLI and boto3 against Cirrus)',
  );
  if (!ok && required) process.exit(1);
}

/** Guest images are built by scripts/images.ts (a no-op when they exist). */
export function ensureImages({ required }) {
  if (!fs.existsSync(path.join(root, 'scripts', 'images.ts'))) return;
  if (run(process.execPath, ['--import', 'tsx', 'scripts/images.ts', '--if-missing']) !== 0) {
    if (required) {
      console.error('[cirrus] building the guest images failed.');
      process.exit(1);
    }
    console.error('[cirrus] warning: guest images are missing, so instances cannot launch until `npm run images` succeeds.');
  }
}

const BUILD_INPUTS = ['app', 'components', 'server', 'public', 'types', 'next.config.js', 'postcss.config.mjs', 'tsconfig.json', 'package-lock.json'];
const buildStamp = () => path.join(root, '.next', 'cirrus-source-hash');

/** `next build` when there is no build, or the sources it was made from have changed. */
export function ensureBuild({ exitOnFailure = true } = {}) {
  const want = hashTree(BUILD_INPUTS, (rel) => rel.endsWith('.test.ts') || rel.startsWith(path.join('server', 'test')));
  const stamp = buildStamp();
  if (fs.existsSync(path.join(root, '.next', 'BUILD_ID')) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return true;
  log('building the production bundle (next build)…');
  if (run(bin('next'), ['build']) !== 0) {
    console.error('[cirrus] next build failed.');
    if (exitOnFailure) process.exit(1);
    return false;
  }
  fs.writeFileSync(stamp, want);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  checkNode();
  ensureDependencies();
  if (args.has('--with-browser')) ensureBrowser();
  ensureNetworkPackages({ required: false });
  ensureGuestTools({ required: false });
  if (!args.has('--no-images')) ensureImages({ required: false });
  if (!args.has('--no-build')) ensureBuild();
}
