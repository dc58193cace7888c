// Volumes through the QEMU driver, in a Tiny Linux guest under TCG: how long
// a hot-added volume takes to appear in the guest (request → its disk with
// the volume's serial in /sys/block) and to go again, and the throughput of
// direct I/O (busybox dd, 64 KiB blocks) on a directory pool's thin qcow2
// volume without a ceiling, at 100 IOPS and at 10 MB/s. Timed from the host,
// less a serial-console round trip; nothing is asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { eventually, guestShell, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import { DirectoryPool } from '../server/hypervisor/storage';
import type { VolumeLimits } from '../server/hypervisor/types';
import { volumeSerial } from '../server/hypervisor/volumes';
import { median, type BenchFigure, type BenchModule } from './types';

const ID = 'bench-volumes';
const VOLUME = 'vol-0000000000000be01';
const ROUNDS = 3;
const MIB = 16;

const volumesBench: BenchModule = {
  name: 'volumes',
  description: 'volume hot-add/remove latency and dd throughput with and without limits (Tiny Linux, TCG, directory pool)',
  async run() {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-volumes-'));
    const driver = await QemuDriver.open({ guestsDir: path.join(scratch, 'guests'), imagesDir: testImagesDir() });
    const pool = new DirectoryPool(path.join(scratch, 'pool'));
    const sh = (line: string) => guestShell(driver, ID, line);
    const diskOf = () => sh(`for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${volumeSerial(VOLUME)} ] && echo -n "\${d##*/}"; done`);
    const figures: BenchFigure[] = [];
    try {
      await pool.create(VOLUME, 2 * 1024 ** 3);
      await driver.create({ id: ID, vcpus: 1, memoryMiB: 256, diskGiB: 1, nics: [{ mac: macAddress(ID, 0), tap: null }], image: 'cirrus-tiny-linux' });
      await driver.start(ID);
      await eventually(async () => (await driver.serialLog(ID)).includes('CIRRUS-READY'), 120_000, 'CIRRUS-READY');
      let t0 = performance.now();
      for (let i = 0; i < 3; i++) await sh('true');
      const roundTripMs = (performance.now() - t0) / 3;

      const adds: number[] = [];
      const removes: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        t0 = performance.now();
        await driver.attachVolume(ID, { id: VOLUME, source: pool.source(VOLUME), limits: null });
        await eventually(async () => (await diskOf()) !== '', 30_000, 'the volume in the guest');
        adds.push(performance.now() - t0);
        t0 = performance.now();
        await driver.detachVolume(ID, VOLUME);
        removes.push(performance.now() - t0);
      }
      figures.push(
        { label: 'hot-add: request → guest sees it (median)', value: Math.round(median(adds)), unit: 'ms' },
        { label: 'detach: request → device gone (median)', value: Math.round(median(removes)), unit: 'ms' },
        { label: 'serial round trip (subtracted below)', value: Math.round(roundTripMs), unit: 'ms' },
      );

      await driver.attachVolume(ID, { id: VOLUME, source: pool.source(VOLUME), limits: null });
      const dev = await eventually(async () => (await diskOf()) || null, 30_000, 'the volume in the guest');
      const mbps = async (line: string) => {
        const start = performance.now();
        await sh(line);
        return (MIB * 1.048576) / (Math.max(1, performance.now() - start - roundTripMs) / 1000);
      };
      const cases: [string, VolumeLimits | null][] = [
        ['no limit', null],
        ['100 IOPS', { iops: 100, bytesPerSecond: 0 }],
        ['10 MB/s', { iops: 0, bytesPerSecond: 10_000_000 }],
      ];
      for (const [label, limits] of cases) {
        await driver.setVolumeLimits(ID, VOLUME, limits);
        const write = await mbps(`dd if=/dev/zero of=/dev/${dev} bs=64k count=${MIB * 16} oflag=direct 2>/dev/null`);
        const read = await mbps(`dd if=/dev/${dev} of=/dev/null bs=64k count=${MIB * 16} iflag=direct 2>/dev/null`);
        figures.push({ label: `${label}: write (${MIB} MiB, 64 KiB direct)`, value: write.toFixed(1), unit: 'MB/s' }, { label: `${label}: read`, value: read.toFixed(1), unit: 'MB/s' });
      }
    } finally {
      await driver.destroy(ID).catch(() => undefined);
      await driver.close();
      rmSync(scratch, { recursive: true, force: true });
    }
    return figures;
  },
};

export default volumesBench;
