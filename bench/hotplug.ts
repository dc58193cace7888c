// Hot-adding to a running guest through the QEMU driver: how long a resize
// takes from the request (driver.resize) until the guest itself sees it —
// vCPUs 1 → 2 → 3 (/sys/devices/system/cpu/online), memory 512 → 768 → 1024
// MiB (MemTotal in /proc/meminfo) and the root disk 2 → 3 → 4 GiB
// (/sys/block/vda/size) — and, beside it, how long the request alone takes
// (driver.resize returning: QEMU has plugged the device). Debian 12, because
// its udev rules online hot-added CPUs and memory (Tiny Linux leaves them
// offline); it has no shell on its serial console, so the guest's files are
// read through its agent (guest-file-open/read/close), whose round trip is in
// each figure and printed once on its own. One run of each step, idle guest,
// TCG where the host has no KVM; nothing is asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { agentCall } from '../server/hypervisor/qemu/guest-agent';
import { guestLayout } from '../server/hypervisor/qemu/layout';
import { eventually, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { ResizeRequest } from '../server/hypervisor/types';
import type { BenchFigure, BenchModule } from './types';

const ID = 'bench-hotplug';
const GiB = 1024 ** 3;
const BOOT_MS = 600_000;
const SEEN_MS = 60_000;

/** A file in the guest, as the guest reads it (through its agent). */
async function readGuestFile(sock: string, file: string): Promise<string> {
  const handle = await agentCall<number>(sock, 'guest-file-open', { path: file, mode: 'r' });
  try {
    const r = await agentCall<{ 'buf-b64': string }>(sock, 'guest-file-read', { handle, count: 64 * 1024 });
    return Buffer.from(r['buf-b64'], 'base64').toString('utf8');
  } finally {
    await agentCall(sock, 'guest-file-close', { handle }).catch(() => undefined);
  }
}

/** How many CPUs a sysfs CPU list ("0-2,4") names. */
function countCpuList(list: string): number {
  return list
    .trim()
    .split(',')
    .filter(Boolean)
    .reduce((n, part) => {
      const [lo, hi] = part.split('-').map(Number);
      return n + (hi === undefined ? 1 : hi - (lo ?? hi) + 1);
    }, 0);
}

const hotplugBench: BenchModule = {
  name: 'hotplug',
  description: 'hot-add latency of a running guest’s resize, request → the guest sees it: vCPUs, memory, root disk (Debian 12, idle, read through its agent)',
  async run() {
    const guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-hotplug-'));
    const driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir() });
    const sock = guestLayout(guestsDir, ID).qgaSocket;
    const read = (file: string) => readGuestFile(sock, file);
    const onlineCpus = async () => countCpuList(await read('/sys/devices/system/cpu/online'));
    const memTotalKiB = async () => Number(/^MemTotal:\s+(\d+) kB/m.exec(await read('/proc/meminfo'))?.[1] ?? 0);
    const diskBytes = async () => Number(await read('/sys/block/vda/size')) * 512;
    const figures: BenchFigure[] = [];
    /** Resize, then wait until `seen()`: the request's own time and the whole. */
    const step = async (label: string, to: ResizeRequest, seen: () => Promise<boolean>) => {
      const t0 = performance.now();
      await driver.resize(ID, to);
      const requestMs = performance.now() - t0;
      await eventually(seen, SEEN_MS, `the guest to see ${label}`);
      const seenMs = performance.now() - t0;
      figures.push({ label: `${label}: request returns`, value: Math.round(requestMs), unit: 'ms' }, { label: `${label}: the guest sees it`, value: Math.round(seenMs), unit: 'ms' });
    };
    try {
      await driver.create({ id: ID, vcpus: 1, memoryMiB: 512, diskGiB: 2, nics: [{ mac: macAddress(ID, 0), tap: null }], image: 'debian-12', maxVcpus: 3, maxMemoryMiB: 1024 });
      let t0 = performance.now();
      await driver.start(ID);
      await eventually(async () => (await driver.serialLog(ID, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
      // Boot chores done (cloud-init's last stage), so they do not share the vCPU with what is measured.
      await eventually(() => read('/run/cloud-init/result.json').then(() => true, () => false), BOOT_MS, 'cloud-init to finish');
      const bootMs = performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < 3; i++) await read('/sys/devices/system/cpu/online');
      const readMs = (performance.now() - t0) / 3;
      figures.push({ label: 'boot: start → CIRRUS-READY, cloud-init done', value: (bootMs / 1000).toFixed(1), unit: 's' }, { label: 'one file read through the agent (in each below)', value: Math.round(readMs), unit: 'ms' });

      for (const vcpus of [2, 3]) await step(`vCPU ${vcpus - 1} → ${vcpus}`, { vcpus }, async () => (await onlineCpus()) === vcpus);
      for (const memoryMiB of [768, 1024]) {
        const before = await memTotalKiB();
        // The kernel keeps a little of each block for itself.
        await step(`memory ${memoryMiB - 256} → ${memoryMiB} MiB`, { memoryMiB }, async () => (await memTotalKiB()) - before > 0.9 * 256 * 1024);
      }
      for (const diskGiB of [3, 4]) await step(`root disk ${diskGiB - 1} → ${diskGiB} GiB`, { diskGiB }, async () => (await diskBytes()) === diskGiB * GiB);
    } finally {
      await driver.destroy(ID).catch(() => undefined);
      await driver.close();
      rmSync(guestsDir, { recursive: true, force: true });
    }
    return figures;
  },
};

export default hotplugBench;
