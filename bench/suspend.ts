// Suspend to disk and resume through the QEMU driver: for idle Tiny Linux
// guests of 128, 512 and 1024 MiB, how long saving the running state takes
// (pause → state file complete → QEMU gone), how big the file is, and how
// long restoring takes (QEMU started → state loaded → running again); and a
// snapshot of the running guest without memory (the overlay switch) and with
// memory (paused, state written, going on again).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { eventually, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { BenchFigure, BenchModule } from './types';

const SIZES_MIB = [128, 512, 1024];

const suspendBench: BenchModule = {
  name: 'suspend',
  description: 'suspend to disk, resume and snapshots (Tiny Linux, idle, TCG), per guest memory size',
  async run() {
    const guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-suspend-'));
    const driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir() });
    const figures: BenchFigure[] = [];
    try {
      for (const memoryMiB of SIZES_MIB) {
        const id = `bench-suspend-${memoryMiB}`;
        await driver.create({ id, vcpus: 1, memoryMiB, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });
        try {
          await driver.start(id);
          await eventually(async () => (await driver.serialLog(id)).includes('CIRRUS-READY'), 120_000, 'CIRRUS-READY');
          let t0 = performance.now();
          const saved = await driver.saveState(id);
          const saveMs = performance.now() - t0;
          t0 = performance.now();
          await driver.restoreState(id);
          const restoreMs = performance.now() - t0;
          t0 = performance.now();
          await driver.createSnapshot(id, { name: 'bench-disk', memory: false });
          const diskSnapMs = performance.now() - t0;
          t0 = performance.now();
          const withMemory = await driver.createSnapshot(id, { name: 'bench-memory', memory: true });
          const memorySnapMs = performance.now() - t0;
          figures.push(
            { label: `${memoryMiB} MiB: suspend`, value: Math.round(saveMs), unit: 'ms' },
            { label: `${memoryMiB} MiB: state file`, value: (saved.bytes / 1024 ** 2).toFixed(1), unit: 'MiB' },
            { label: `${memoryMiB} MiB: resume`, value: Math.round(restoreMs), unit: 'ms' },
            { label: `${memoryMiB} MiB: snapshot, disk only`, value: Math.round(diskSnapMs), unit: 'ms' },
            { label: `${memoryMiB} MiB: snapshot with memory`, value: Math.round(memorySnapMs), unit: 'ms' },
            { label: `${memoryMiB} MiB: its memory state`, value: (withMemory.stateBytes / 1024 ** 2).toFixed(1), unit: 'MiB' },
          );
        } finally {
          await driver.destroy(id);
        }
      }
    } finally {
      await driver.close();
      rmSync(guestsDir, { recursive: true, force: true });
    }
    return figures;
  },
};

export default suspendBench;
