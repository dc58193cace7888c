// Installs the Debian packages Cirrus needs at run or test time.
// As root on Debian/Ubuntu, missing packages are installed with apt-get;
// otherwise the exact command to run is printed and the caller is told.
// Plain JavaScript with no dependencies: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** @typedef {{ pkg: string, check: string[] }} SystemPackage  check: paths, any of which proves it is installed */

let aptUpdated = false;

function isDebianLike() {
  try {
    const os = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(os);
  } catch {
    return false;
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0;
}

/**
 * Ensure every package is installed. Returns true when all are present
 * afterwards; false (after printing the command to run) when they are not.
 * @param {SystemPackage[]} packages
 * @param {string} why  what needs them, for the message
 */
export function ensureSystemPackages(packages, why) {
  const missing = packages.filter((p) => !p.check.some((path) => existsSync(path)));
  if (missing.length === 0) return true;
  const names = missing.map((p) => p.pkg);
  const command = `apt-get update && apt-get install -y --no-install-recommends ${names.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !isDebianLike()) {
    console.error(`\n[cirrus] ${why} needs: ${names.join(', ')}.`);
    console.error(`[cirrus] Install them as root with:\n\n    ${isRoot ? '' : 'sudo '}${command}\n`);
    return false;
  }
  console.log(`[cirrus] installing ${names.join(', ')} from Debian (${why})…`);
  if (!aptUpdated) {
    if (!run('apt-get', ['update', '-q'])) {
      console.error('[cirrus] apt-get update failed');
      return false;
    }
    aptUpdated = true;
  }
  if (!run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names])) {
    console.error(`[cirrus] apt-get install failed; try:\n\n    ${command}\n`);
    return false;
  }
  return missing.every((p) => p.check.some((path) => existsSync(path)));
}

/** Make sure `apt-get update` has run once in this process (for `apt-get download`). */
export function ensureAptUpdated() {
  if (aptUpdated) return true;
  aptUpdated = run('apt-get', ['update', '-q']);
  return aptUpdated;
}
