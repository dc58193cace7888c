// Launch latency: from create+start to the guest's first serial byte and to
// its hardware report, through the Cirrus QEMU driver versus running the very
// same QEMU arguments by hand (qemu-img + qemu-system-x86_64, no QMP, no
// bookkeeping). Alternates the two, median of BENCH_RUNS (default 5) each.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImageCatalog, DEFAULT_IMAGE_ID } from '../server/hypervisor/images/catalog';
import { buildQemuArgs } from '../server/hypervisor/qemu/args';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { guestLayout } from '../server/hypervisor/qemu/layout';
import { isOurProcessAlive, readPidFile, startQemu, waitForPidFile } from '../server/hypervisor/qemu/process';
import { testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { GuestSpec } from '../server/hypervisor/types';
import { median, type BenchModule } from './types';

const run = promisify(execFile);
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const TIMEOUT_MS = 120_000;

interface Sample {
  firstByteMs: number;
  reportMs: number;
}

/** Poll a serial log until it has a byte, then until it has the report. */
async function watchSerial(file: string, t0: number): Promise<Sample> {
  let firstByteMs = -1;
  for (;;) {
    const now = performance.now();
    if (now - t0 > TIMEOUT_MS) throw new Error(`no hardware report in ${file}`);
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // not created yet
    }
    if (size > 0 && firstByteMs < 0) firstByteMs = now - t0;
    if (size > 0 && readFileSync(file, 'latin1').includes('CIRRUS-HW ')) return { firstByteMs, reportMs: now - t0 };
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function viaDriver(driver: QemuDriver, spec: GuestSpec): Promise<Sample> {
  const t0 = performance.now();
  try {
    await driver.create(spec);
    await driver.start(spec.id);
    return await watchSerial(guestLayout(driver.guestsDir, spec.id).serialLog, t0);
  } finally {
    await driver.destroy(spec.id);
  }
}

async function byHand(dir: string, spec: GuestSpec, imagesDir: string): Promise<Sample> {
  const image = new ImageCatalog(imagesDir).get(spec.image);
  const accel = process.env.CIRRUS_QEMU_ACCEL === 'kvm' ? 'kvm' : 'tcg';
  const layout = guestLayout(dir, spec.id);
  mkdirSync(layout.runDir, { recursive: true, mode: 0o700 });
  // The same machine, booting at once (the driver starts it paused, then lets it run once it is in its cgroup).
  const args = buildQemuArgs({ spec, image, layout, accel, paused: false });
  const t0 = performance.now();
  try {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.diskPath, layout.disk, `${spec.diskGiB}G`]);
    await waitForPidFile(startQemu({ binary: 'qemu-system-x86_64', args, logFile: layout.qemuLog, cwd: layout.dir, runAs: null }), layout.pidFile, layout.qemuLog);
    return await watchSerial(layout.serialLog, t0);
  } finally {
    const pid = readPidFile(layout.pidFile);
    if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) process.kill(pid, 'SIGKILL');
    while (pid !== null && isOurProcessAlive(pid, layout.pidFile)) await new Promise((r) => setTimeout(r, 20));
    rmSync(layout.dir, { recursive: true, force: true });
  }
}

const launchLatency: BenchModule = {
  name: 'launch',
  description: `launch latency, create+start to first serial byte and to CIRRUS-HW (median of ${RUNS})`,
  async run() {
    const imagesDir = testImagesDir();
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-'));
    const driver = await QemuDriver.open({ guestsDir: path.join(scratch, 'cirrus'), imagesDir });
    const accel = await driver.acceleration();
    // The by-hand runs use the accelerator the driver chose.
    process.env.CIRRUS_QEMU_ACCEL = accel.accel;
    const spec = (i: number): GuestSpec => ({
      id: `bench-${i}`,
      vcpus: 2,
      memoryMiB: 384,
      diskGiB: 2,
      nics: [0, 1].map((n) => ({ mac: macAddress(`bench-${i}`, n), tap: null })),
      image: DEFAULT_IMAGE_ID,
    });
    const cirrus: Sample[] = [];
    const hand: Sample[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        // Alternate which goes first so neither always gets a warm cache.
        if (i % 2 === 0) {
          cirrus.push(await viaDriver(driver, spec(i)));
          hand.push(await byHand(path.join(scratch, 'hand'), spec(i), imagesDir));
        } else {
          hand.push(await byHand(path.join(scratch, 'hand'), spec(i), imagesDir));
          cirrus.push(await viaDriver(driver, spec(i)));
        }
      }
    } finally {
      await driver.close();
      rmSync(scratch, { recursive: true, force: true });
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const c1 = m(cirrus, 'firstByteMs');
    const h1 = m(hand, 'firstByteMs');
    const c2 = m(cirrus, 'reportMs');
    const h2 = m(hand, 'reportMs');
    return [
      { label: 'accelerator', value: `${accel.accel} (${accel.reason})` },
      { label: 'guest', value: '2 vCPUs, 384 MiB, 2 GiB disk, 2 NICs, Cirrus Tiny Linux' },
      { label: 'first serial byte, Cirrus', value: c1, unit: 'ms' },
      { label: 'first serial byte, by hand', value: h1, unit: 'ms' },
      { label: 'first serial byte, ratio', value: c1 / h1, unit: '× (Cirrus / by hand)' },
      { label: 'hardware report, Cirrus', value: c2, unit: 'ms' },
      { label: 'hardware report, by hand', value: h2, unit: 'ms' },
      { label: 'hardware report, ratio', value: c2 / h2, unit: '× (Cirrus / by hand)' },
      { label: 'samples (Cirrus report ms)', value: cirrus.map((s) => Math.round(s.reportMs)).join(' ') },
      { label: 'samples (by hand report ms)', value: hand.map((s) => Math.round(s.reportMs)).join(' ') },
    ];
  },
};

export default launchLatency;
