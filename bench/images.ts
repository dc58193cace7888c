// The Debian 12 image: how long it takes to build (into a scratch catalog, so
// the real one is untouched), what it weighs, and how long a guest takes under
// TCG from QEMU's start to sshd's banner and to the CIRRUS-READY line. The
// guest gets what the driver gives one: a 4 GiB overlay, a NoCloud seed on a
// second virtio disk, a user-mode NIC (here with sshd forwarded to the host).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImageCatalog, imageFootprint, type GuestImage } from '../server/hypervisor/images/catalog';
import { buildDebian } from '../scripts/images/build-debian';
import { DEBIAN_ID } from '../scripts/images/debian-recipe';
import { writeSeedIso } from '../server/hypervisor/cloud-init';
import { validateGuestSpec } from '../server/hypervisor/spec';
import type { BenchFigure, BenchModule } from './types';

const run = promisify(execFile);
const BOOT_TIMEOUT_MS = 600_000;
const MAC = '52:54:00:be:0c:01';
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The first bytes a connection to the port receives (QEMU's forward accepts before the guest listens). */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    sock.setTimeout(2_000, done);
    sock.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.includes('\n')) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

/** The seed the driver makes (its own writer), with a fresh key for the login. */
async function makeSeed(dir: string): Promise<{ seed: string; key: string }> {
  const key = path.join(dir, 'key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const spec = validateGuestSpec({
    id: 'bench-images',
    vcpus: 2,
    memoryMiB: 1024,
    diskGiB: 4,
    image: DEBIAN_ID,
    nics: [{ mac: MAC, tap: null }],
    cloudInit: { hostname: 'bench-images', sshKeys: [readFileSync(`${key}.pub`, 'utf8').trim()], userData: null, addresses: [] },
  });
  const seed = path.join(dir, 'seed.iso');
  await writeSeedIso(spec, seed);
  return { seed, key };
}

/** Whether the login user gets a shell with the key (BatchMode: no prompt, a refusal is a failure). */
async function sshLogin(port: number, key: string, user: string): Promise<boolean> {
  try {
    await run('ssh', ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`, 'true'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Boot a guest of the image; milliseconds from QEMU's start to the SSH banner and to CIRRUS-READY. */
async function bootToSsh(image: GuestImage, dir: string): Promise<{ sshMs: number; loginMs: number; readyMs: number }> {
  const overlay = path.join(dir, 'overlay.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.diskPath, '-F', 'qcow2', overlay, '4G']);
  const { seed, key } = await makeSeed(dir);
  const serial = path.join(dir, 'serial.log');
  const port = await freePort();
  const args = [
    '-nodefaults', '-no-user-config', '-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-smp', '2', '-m', '1024',
    '-kernel', image.kernelPath, '-initrd', image.initrdPath, '-append', image.cmdline,
    '-drive', `file=${overlay},if=none,id=disk0,format=qcow2`, '-device', 'virtio-blk-pci,drive=disk0',
    '-drive', `file=${seed},if=none,id=seed,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=seed',
    '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', `virtio-net-pci,netdev=net0,mac=${MAC},romfile=`,
    '-display', 'none', '-serial', `file:${serial}`,
  ];
  const t0 = performance.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
  try {
    let sshMs = -1;
    let loginMs = -1;
    let readyMs = -1;
    while (loginMs < 0 || readyMs < 0) {
      if (qemu.exitCode !== null) throw new Error(`QEMU exited: ${stderr.trim() || `code ${qemu.exitCode}`}`);
      if (performance.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`no SSH banner and CIRRUS-READY within ${BOOT_TIMEOUT_MS / 1000} s (serial log: ${serial})`);
      if (sshMs < 0 && (await banner(port)).startsWith('SSH-2.0')) sshMs = performance.now() - t0;
      if (sshMs >= 0 && loginMs < 0 && (await sshLogin(port, key, image.loginUser ?? 'debian'))) loginMs = performance.now() - t0;
      if (readyMs < 0 && existsSync(serial) && readFileSync(serial, 'latin1').includes('CIRRUS-READY')) readyMs = performance.now() - t0;
      await sleep(250);
    }
    return { sshMs, loginMs, readyMs };
  } finally {
    qemu.kill('SIGKILL');
    await exited;
  }
}

const imagesBench: BenchModule = {
  name: 'images',
  description: 'the Debian 12 image: build time (scratch catalog), size on disk and virtual size, boot → SSH banner under TCG',
  async run() {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-images-'));
    try {
      const imagesDir = path.join(scratch, 'images');
      const t0 = performance.now();
      await buildDebian({ imagesDir, log: (msg) => console.log(`  [build] ${msg}`) });
      const buildS = (performance.now() - t0) / 1000;
      const image = new ImageCatalog(imagesDir).get(DEBIAN_ID);
      const footprint = imageFootprint(image);
      const figures: BenchFigure[] = [
        { label: 'build (mmdebstrap → mkfs.ext4 -d → qemu-img convert -c)', value: buildS, unit: 's' },
        { label: 'disk.qcow2 on disk', value: statSync(image.diskPath).blocks * 512 / MiB, unit: 'MiB' },
        { label: 'image on disk (disk, kernel, initrd)', value: footprint.sizeBytes / MiB, unit: 'MiB' },
        { label: 'virtual size', value: footprint.virtualSizeBytes / GiB, unit: 'GiB' },
      ];
      if (!existsSync('/usr/bin/genisoimage')) {
        figures.push({ label: 'boot → SSH banner', value: 'skipped: needs genisoimage (apt-get install genisoimage)' });
        return figures;
      }
      const boot = await bootToSsh(image, scratch);
      figures.push({ label: 'boot → SSH banner (TCG, 2 vCPUs, 1 GiB)', value: boot.sshMs / 1000, unit: 's' });
      figures.push({ label: 'boot → SSH login with the seed’s key', value: boot.loginMs / 1000, unit: 's' });
      figures.push({ label: 'boot → CIRRUS-READY', value: boot.readyMs / 1000, unit: 's' });
      return figures;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};

export default imagesBench;
