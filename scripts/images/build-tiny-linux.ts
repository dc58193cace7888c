// Builds "Cirrus Tiny Linux" from Debian packages, without root:
// the kernel from linux-image-amd64, busybox-static, and an initramfs (newc
// cpio, gzip) holding busybox, the virtio/ext4 modules and a small init.
// Everything happens in a temporary directory beside the catalog and is
// renamed into place at the end, so the catalog never holds half an image.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { IMAGE_MANIFEST, type ImageManifest } from '../../server/hypervisor/images/catalog';
import { writeCpio, type CpioEntry } from './cpio';
import { moduleDepends, orderModules } from './kernel-modules';
import { DHCP_SCRIPT, INITTAB, POWER_BUTTON, PROFILE, RC, SHUTDOWN, WANTED_MODULES } from './tiny-linux-init';

const run = promisify(execFile);

export const TINY_LINUX_ID = 'cirrus-tiny-linux';
export const TINY_LINUX_NAME = 'Cirrus Tiny Linux';
/** Bump when the build changes so `--if-missing` rebuilds older images. */
export const TINY_LINUX_BUILD_VERSION = 4;
const KERNEL_META_PACKAGE = 'linux-image-amd64';
const BUSYBOX_PACKAGE = 'busybox-static';
const PACKAGE_NAME = /^[a-z0-9][a-z0-9.+-]+$/;

export interface BuildOptions {
  imagesDir: string;
  log: (msg: string) => void;
  /** Called once if `apt-get download` fails, to refresh package lists. */
  aptUpdate: () => boolean;
}

async function aptDownload(dir: string, pkgs: string[], opts: BuildOptions): Promise<void> {
  const attempt = () => run('apt-get', ['download', '-q', ...pkgs], { cwd: dir, maxBuffer: 16 << 20 });
  try {
    await attempt();
  } catch {
    opts.log('apt-get download failed; refreshing package lists and retrying');
    if (!opts.aptUpdate()) throw new Error('apt-get update failed');
    await attempt();
  }
}

function debFor(dir: string, pkg: string): string {
  const deb = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download produced no .deb for ${pkg}`);
  return path.join(dir, deb);
}

async function debField(deb: string, field: string): Promise<string> {
  const { stdout } = await run('dpkg-deb', ['-f', deb, field]);
  return stdout.trim();
}

/** Every `*.ko` / `*.ko.xz` under `dir`, by module name (dashes as underscores). */
function indexModules(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const m = /^(.+)\.ko(\.xz)?$/.exec(entry.name);
    if (m?.[1]) out.set(m[1].replace(/-/g, '_'), path.join(entry.parentPath, entry.name));
  }
  return out;
}

async function readModule(file: string): Promise<Buffer> {
  if (!file.endsWith('.xz')) return readFileSync(file);
  // busybox insmod cannot read xz; decompress on the host.
  const { stdout } = await run('xz', ['-dc', file], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/**
 * Pull the ELF vmlinux out of an xz-compressed bzImage (what Debian ships)
 * and keep it only if it carries the Xen/PVH ELF note QEMU boots directly.
 */
async function extractVmlinux(bzImage: string, dest: string, work: string): Promise<boolean> {
  const img = readFileSync(bzImage);
  const at = img.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return false;
  const payload = path.join(work, 'vmlinux.xz');
  writeFileSync(payload, img.subarray(at));
  try {
    const { stdout } = await run('xz', ['-dc', '--single-stream', payload], { encoding: 'buffer', maxBuffer: 512 << 20 });
    const isElf = stdout.length > 64 && stdout.readUInt32BE(0) === 0x7f454c46;
    // XEN_ELFNOTE_PHYS32_ENTRY (18) in a "Xen" note marks a PVH entry point.
    const hasPvh = isElf && stdout.includes(Buffer.from('Xen\0', 'latin1'));
    if (!hasPvh) return false;
    writeFileSync(dest, stdout);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(payload, { force: true });
  }
}

export async function buildTinyLinux(opts: BuildOptions): Promise<string> {
  const { imagesDir, log } = opts;
  mkdirSync(imagesDir, { recursive: true, mode: 0o755 });
  const work = path.join(imagesDir, `.build-${TINY_LINUX_ID}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const debs = path.join(work, 'debs');
  const root = path.join(work, 'root');
  const out = path.join(work, 'out');
  for (const d of [debs, root, out]) mkdirSync(d, { recursive: true });
  try {
    // 1. Packages.
    log(`downloading ${KERNEL_META_PACKAGE} to find the current kernel`);
    await aptDownload(debs, [KERNEL_META_PACKAGE], opts);
    const depends = await debField(debFor(debs, KERNEL_META_PACKAGE), 'Depends');
    const kernelPkg = depends.split(/[,|]/)[0]?.trim().split(/\s/)[0] ?? '';
    if (!PACKAGE_NAME.test(kernelPkg) || !kernelPkg.startsWith('linux-image-')) {
      throw new Error(`unexpected Depends of ${KERNEL_META_PACKAGE}: ${depends}`);
    }
    log(`downloading ${kernelPkg} and ${BUSYBOX_PACKAGE}`);
    await aptDownload(debs, [kernelPkg, BUSYBOX_PACKAGE], opts);
    const versions: string[] = [];
    for (const pkg of [kernelPkg, BUSYBOX_PACKAGE]) {
      const deb = debFor(debs, pkg);
      versions.push(`${pkg} ${await debField(deb, 'Version')}`);
      log(`unpacking ${path.basename(deb)}`);
      await run('dpkg-deb', ['-x', deb, root]);
    }

    // 2. Kernel.
    const vmlinuz = readdirSync(path.join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${kernelPkg} holds no /boot/vmlinuz-*`);
    const kver = vmlinuz.slice('vmlinuz-'.length);
    // Boot the uncompressed ELF through its PVH entry when we can: under TCG
    // the bzImage spends seconds decompressing itself.
    const kernelFile = (await extractVmlinux(path.join(root, 'boot', vmlinuz), path.join(out, 'vmlinux'), work)) ? 'vmlinux' : 'vmlinuz';
    if (kernelFile === 'vmlinuz') copyFileSync(path.join(root, 'boot', vmlinuz), path.join(out, 'vmlinuz'));
    log(`kernel ${kver} (${kernelFile === 'vmlinux' ? 'uncompressed ELF, PVH boot' : 'bzImage'})`);

    // 3. Modules, dependencies first.
    const modRoot = path.join(root, 'lib', 'modules', kver);
    const files = indexModules(path.join(modRoot, 'kernel'));
    const builtinFile = path.join(modRoot, 'modules.builtin');
    const builtin = new Set(
      existsSync(builtinFile)
        ? readFileSync(builtinFile, 'utf8')
            .split('\n')
            .map((l) => path.basename(l).replace(/\.ko(\.xz)?$/, '').replace(/-/g, '_'))
        : [],
    );
    const blobs = new Map<string, Buffer>();
    const load = async (name: string) => {
      const file = files.get(name);
      if (!file) throw new Error(`kernel module ${name} not found in ${kernelPkg}`);
      if (!blobs.has(name)) blobs.set(name, await readModule(file));
      return blobs.get(name) as Buffer;
    };
    const deps = new Map<string, string[]>();
    const pending = WANTED_MODULES.filter((m) => !builtin.has(m));
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (deps.has(name)) continue;
      const d = moduleDepends(await load(name)).map((x) => x.replace(/-/g, '_')).filter((x) => !builtin.has(x));
      deps.set(name, d);
      pending.push(...d);
    }
    const order = orderModules(
      WANTED_MODULES.filter((m) => !builtin.has(m)),
      (n) => deps.get(n) ?? [],
    );
    log(`modules (load order): ${order.join(' ')}`);

    // 4. initramfs.
    const busybox = readFileSync(path.join(root, 'bin', 'busybox'));
    const { stdout: applets } = await run(path.join(root, 'bin', 'busybox'), ['--list']);
    const entries: CpioEntry[] = [];
    for (const d of ['bin', 'dev', 'etc', 'etc/cirrus', 'etc/acpi', 'etc/acpi/PWRF', 'lib', 'lib/modules', 'proc', 'sys', 'tmp', 'root', 'data', 'usr', 'run']) {
      entries.push({ kind: 'dir', path: d, mode: d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755 });
    }
    entries.push({ kind: 'char', path: 'dev/console', major: 5, minor: 1 });
    entries.push({ kind: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
    entries.push({ kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
    for (const a of applets.split('\n').map((s) => s.trim())) {
      if (a && a !== 'busybox' && /^[a-z0-9_.[-]+$/.test(a)) entries.push({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' });
    }
    entries.push({ kind: 'symlink', path: 'sbin', target: 'bin' });
    entries.push({ kind: 'symlink', path: 'usr/bin', target: '../bin' });
    entries.push({ kind: 'symlink', path: 'usr/sbin', target: '../bin' });
    entries.push({ kind: 'symlink', path: 'init', target: 'bin/busybox' });
    const text = (p: string, s: string, mode = 0o644): CpioEntry => ({ kind: 'file', path: p, data: Buffer.from(s), mode });
    entries.push(text('etc/inittab', INITTAB));
    entries.push(text('etc/profile', PROFILE));
    entries.push(text('etc/hostname', 'cirrus\n'));
    entries.push(text('etc/cirrus/rc', RC, 0o755));
    entries.push(text('etc/cirrus/shutdown', SHUTDOWN, 0o755));
    entries.push(text('etc/cirrus/dhcp', DHCP_SCRIPT, 0o755));
    entries.push(text('etc/cirrus/modules', order.join('\n') + '\n'));
    entries.push(text('etc/acpi/PWRF/00000080', POWER_BUTTON, 0o755));
    for (const m of order) entries.push({ kind: 'file', path: `lib/modules/${m}.ko`, data: await load(m) });
    const initrd = gzipSync(writeCpio(entries), { level: 9 });
    writeFileSync(path.join(out, 'initrd.img'), initrd);
    log(`initramfs: ${entries.length} entries, ${(initrd.length / 1048576).toFixed(1)} MiB`);

    // 5. Base disk: blank; the guest formats its overlay on first boot.
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(out, 'disk.qcow2'), '1G']);

    // 6. Manifest last, then move into place.
    const manifest: ImageManifest = {
      id: TINY_LINUX_ID,
      name: TINY_LINUX_NAME,
      kernel: kernelFile,
      initrd: 'initrd.img',
      disk: 'disk.qcow2',
      cmdline: 'console=tty0 console=ttyS0',
      minMemoryMiB: 96,
      minDiskGiB: 1,
      source: `Debian ${versions.join(', ')}`,
      buildVersion: TINY_LINUX_BUILD_VERSION,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(path.join(out, IMAGE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    const final = path.join(imagesDir, TINY_LINUX_ID);
    const old = path.join(work, 'previous');
    if (existsSync(final)) renameSync(final, old);
    renameSync(out, final);
    return final;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
