// Builds "Debian 12 (bookworm)", a cloud image: systemd, cloud-init (NoCloud),
// openssh-server, qemu-guest-agent and the cloud kernel, from Debian's packages
// with Debian's own tools and no loop devices:
//
//   mmdebstrap (directory) → mkfs.ext4 -d (the tree becomes a 2 GiB ext4
//   filesystem, the whole disk, no partition table) → qemu-img convert -c.
//
// mmdebstrap rather than debvm-create: debvm-create is a thin wrapper over
// mmdebstrap that would have to be argued out of most of what it adds (a
// passwordless root, its own networkd and autologin setup, a hostname) and
// makes its filesystem as ext2 with genext2fs, upgraded to ext4 afterwards;
// mmdebstrap plus mkfs.ext4 -d gives a native ext4 and keeps every choice in
// the recipe (debian-recipe.ts, debian-files.ts), which the recipe hash covers.
//
// Needs root: mmdebstrap --mode=root installs the packages in a chroot, and
// mkfs.ext4 -d copies ownership as it finds it. The guest boots the kernel and
// initrd copied out of the tree (vmlinuz, initrd.img), so there is no
// bootloader; the kernel packages are held inside the guest so its modules
// keep matching that kernel. Everything happens in a temporary directory
// beside the catalog and is renamed into place at the end.
import { spawn, execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { IMAGE_MANIFEST } from '../../server/hypervisor/images/catalog';
import type { RecipeFile } from './debian-files';
import { DEBIAN_ID, debianManifest, debianRecipe, mmdebstrapArgs, SOURCE_PACKAGES, type DebianRecipe } from './debian-recipe';

const run = promisify(execFile);

export interface DebianBuildOptions {
  imagesDir: string;
  log: (msg: string) => void;
  recipe?: DebianRecipe;
}

// 1. Work directory ----------------------------------------------------------

const WORK_PREFIX = `.build-${DEBIAN_ID}-`;

/** Mount points at or under `dir` (mountinfo's fifth field, octal escapes decoded), deepest first. */
function mountsUnder(dir: string): string[] {
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(decode)
    .filter((p) => p === dir || p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/**
 * Remove a work directory. A build killed inside mmdebstrap can leave /proc or
 * /dev mounted in its chroot; deleting through those would reach the host's,
 * so unmount first and refuse if anything stays mounted.
 */
async function removeWorkDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const m of mountsUnder(dir)) await run('umount', ['-l', m]).catch(() => undefined);
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`${left[0]} is still mounted; unmount it and remove ${dir}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Work directories of earlier builds whose process is gone (each holds a whole tree). */
async function removeStaleWorkDirs(imagesDir: string): Promise<void> {
  for (const name of readdirSync(imagesDir)) {
    const pid = Number(name.startsWith(WORK_PREFIX) ? name.slice(WORK_PREFIX.length) : NaN);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // another build is running
    } catch {
      await removeWorkDir(path.join(imagesDir, name));
    }
  }
}

/**
 * Lay files out under `dir` at their image paths. sync-in unpacks them as a
 * tar, which gives the image's existing directories (/, /etc, …) the staged
 * ones' modes: so every directory is set to 0755 and every file to its mode,
 * whatever the umask.
 */
function stageFiles(dir: string, files: RecipeFile[]): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of files) {
    let at = dir;
    for (const part of path.dirname(f.path).split('/').filter(Boolean)) {
      at = path.join(at, part);
      if (!existsSync(at)) mkdirSync(at);
      chmodSync(at, 0o755);
    }
    const dest = path.join(dir, f.path);
    writeFileSync(dest, f.text);
    chmodSync(dest, f.mode);
  }
}

// 2. Steps -------------------------------------------------------------------

/** Run mmdebstrap, passing its progress lines ("I: …") on; on failure, say its first error. */
function runMmdebstrap(args: string[], logFile: string, log: (msg: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const lines: string[] = [];
    let partial = '';
    const onData = (b: Buffer) => {
      const text = partial + b.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('I: ') && !line.startsWith('I: running')) log(`mmdebstrap: ${line.slice(3)}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new Error(`could not run mmdebstrap: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (partial) lines.push(partial);
      writeFileSync(logFile, lines.join('\n') + '\n');
      if (code === 0) return resolve();
      // The first error is the cause; the last only says mmdebstrap failed.
      const reason = lines.find((l) => l.startsWith('E: ')) ?? lines.filter((l) => l.trim()).pop() ?? '';
      reject(new Error(`mmdebstrap failed (${signal ?? `exit ${code}`}): ${reason.replace(/^E: /, '').trim() || 'no output'} (log: ${logFile})`));
    });
  });
}

/** Installed versions in a tree, by package name. */
async function installedVersions(root: string): Promise<Record<string, string>> {
  const { stdout } = await run('dpkg-query', [`--admindir=${path.join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package}\t${Version}\n'], { maxBuffer: 16 << 20 });
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [pkg, version] = line.split('\t');
    if (pkg && version) out[pkg] = version;
  }
  return out;
}

// 3. Build ---------------------------------------------------------------------

export async function buildDebian(opts: DebianBuildOptions): Promise<string> {
  const { imagesDir, log } = opts;
  const recipe = opts.recipe ?? debianRecipe();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('building it needs root (mmdebstrap --mode=root; mkfs.ext4 -d keeps file ownership only as root)');
  }
  mkdirSync(imagesDir, { recursive: true, mode: 0o755 });
  await removeStaleWorkDirs(imagesDir);
  const work = path.join(imagesDir, `${WORK_PREFIX}${process.pid}`);
  await removeWorkDir(work);
  const root = path.join(work, 'root');
  const out = path.join(work, 'out');
  const essentialDir = path.join(work, 'essential');
  const filesDir = path.join(work, 'files');
  const customizeScript = path.join(work, 'customize.sh');
  const raw = path.join(work, 'disk.raw');
  mkdirSync(out, { recursive: true });
  try {
    // 1. The tree.
    stageFiles(essentialDir, recipe.essentialFiles);
    stageFiles(filesDir, recipe.files);
    writeFileSync(customizeScript, recipe.customizeScript);
    chmodSync(customizeScript, 0o755); // mmdebstrap execs a hook only when it is executable
    let t0 = Date.now();
    log(`mmdebstrap ${recipe.suite} (${recipe.packages.length} packages named) into ${root}`);
    await runMmdebstrap(mmdebstrapArgs(recipe, { root, essentialDir, filesDir, customizeScript }), path.join(imagesDir, `.${DEBIAN_ID}-build.log`), log);
    log(`tree ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // 2. What went in, and the kernel and initrd the guest boots.
    const versions = await installedVersions(root);
    const missing = SOURCE_PACKAGES.filter((p) => !versions[p]);
    if (missing.length) throw new Error(`the tree lacks ${missing.join(', ')}`);
    const kernelPackage = Object.keys(versions).find((p) => /^linux-image-\d.*-cloud-amd64$/.test(p));
    if (!kernelPackage) throw new Error('no linux-image-*-cloud-amd64 package in the tree');
    const kver = kernelPackage.slice('linux-image-'.length);
    for (const [from, to] of [[`vmlinuz-${kver}`, 'vmlinuz'], [`initrd.img-${kver}`, 'initrd.img']] as const) {
      const file = path.join(root, 'boot', from);
      if (!existsSync(file)) throw new Error(`the tree has no /boot/${from}`);
      copyFileSync(file, path.join(out, to));
    }
    log(`kernel ${kver}; ${SOURCE_PACKAGES.filter((p) => p !== 'linux-image-cloud-amd64').map((p) => `${p} ${versions[p]}`).join(', ')}`);

    // 3. The disk: the tree as one ext4 filesystem, then a compressed qcow2.
    //    mmdebstrap has cleaned up; what it (or a hook) left in /tmp goes.
    t0 = Date.now();
    for (const name of readdirSync(path.join(root, 'tmp'))) rmSync(path.join(root, 'tmp', name), { recursive: true, force: true });
    const leftovers = ['var/lib/apt/lists', 'var/cache/apt/archives'].flatMap((d) =>
      readdirSync(path.join(root, d)).filter((f) => f.endsWith('_Packages') || f.endsWith('.deb')).map((f) => `${d}/${f}`),
    );
    if (leftovers.length) throw new Error(`mmdebstrap left apt's lists or cache in the tree (${leftovers[0]}, …)`);
    writeFileSync(raw, '');
    truncateSync(raw, recipe.diskSizeBytes);
    await run('mkfs.ext4', ['-q', '-F', ...recipe.mkfsOptions, '-d', root, raw]);
    await removeWorkDir(root);
    await run('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, path.join(out, 'disk.qcow2')]);
    rmSync(raw, { force: true });
    log(`disk made in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // 4. Manifest last, then move into place.
    const manifest = debianManifest({ recipe, versions, kernelPackage, builtAt: new Date() });
    writeFileSync(path.join(out, IMAGE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    const final = path.join(imagesDir, DEBIAN_ID);
    const old = path.join(work, 'previous');
    if (existsSync(final)) renameSync(final, old);
    renameSync(out, final);
    return final;
  } finally {
    await removeWorkDir(work);
  }
}
