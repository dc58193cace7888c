// Live migration between two hosts' QEMU drivers on this machine, the streams
// carried over the real node channel (TLS with the cluster key, as between
// nodes): for Tiny Linux guests of 256 MiB and 1 GiB, idle and with most of
// their memory written (so there is something to copy), the time from the
// request to the guest running on the target, and the downtime (QEMU's stop
// on the source to the target let run, as the node's job measures it).
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NodeChannelServer, openNodeStream } from '../server/cluster/channel';
import { localGuests, nodeHandlers } from '../server/cluster/guests';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { eventually, guestShell, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { BenchFigure, BenchModule } from './types';

const SIZES_MIB = [256, 1024];

const migrationBench: BenchModule = {
  name: 'migration',
  description: 'live migration between two hosts over the node channel (Tiny Linux, TCG): total time and downtime, idle and with memory written',
  async run() {
    const dirs = [mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-mig-a-')), mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-mig-b-'))];
    const source = await QemuDriver.open({ guestsDir: dirs[0], imagesDir: testImagesDir(), cgroupParent: 'cirrus-guests-bench-a' });
    const target = await QemuDriver.open({ guestsDir: dirs[1], imagesDir: testImagesDir(), cgroupParent: 'cirrus-guests-bench-b' });
    // The target's node channel, serving only the streams of a move to it.
    const key = crypto.randomBytes(32);
    const channel = new NodeChannelServer(
      key,
      nodeHandlers('bench-target', localGuests(target), () => undefined, {
        prepare: async () => undefined,
        finish: async () => undefined,
        abort: async () => undefined,
        status: async () => 'running',
        receive: async () => {
          throw new Error('not in this bench');
        },
        open: async (id, kind) => {
          const at = await target.incomingEndpoints(id);
          const s = net.connect(kind === 'disk' ? at.disk : at.state);
          await new Promise((resolve, reject) => {
            s.once('connect', resolve);
            s.once('error', reject);
          });
          s.pause();
          return s;
        },
      }),
    );
    const { port } = await channel.listen('127.0.0.1', 0);
    const address = `127.0.0.1:${port}`;
    const figures: BenchFigure[] = [];
    try {
      for (const memoryMiB of SIZES_MIB) {
        for (const load of ['idle', 'written'] as const) {
          const id = `bench-mig-${memoryMiB}-${load}`;
          await source.create({ id, vcpus: 1, memoryMiB, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });
          try {
            await source.start(id);
            await eventually(async () => (await source.serialLog(id, 1 << 20)).includes('CIRRUS-READY'), 120_000, 'CIRRUS-READY');
            // A quarter of its memory written (its root file system is in RAM; a 256 MiB Tiny Linux has about 90 MiB to spare) with data that is not zero pages: 1 MiB of random bytes, repeated.
            if (load === 'written') {
              const mib = Math.floor(memoryMiB * 0.25);
              await guestShell(source, id, ` sh -c 'head -c 1048576 /dev/urandom > /root/seed; i=0; while [ $i -lt ${mib} ]; do cat /root/seed; i=$((i+1)); done > /root/fill; echo done > /root/filled' >/dev/null 2>&1 & echo started`);
              await eventually(async () => (await guestShell(source, id, 'cat /root/filled 2>/dev/null || echo no')) === 'done', 300_000, 'memory written');
            }
            const t0 = performance.now();
            await target.prepareIncoming(await source.migrationSource(id));
            const report = await source.migrateOut(id, (kind) => openNodeStream(address, key, { op: 'migrate-stream', instanceId: id, kind }));
            const switchStarted = performance.now();
            await target.finishIncoming(id);
            const downtime = report.downtimeMs + (performance.now() - switchStarted);
            const total = performance.now() - t0;
            await source.destroy(id);
            figures.push(
              { label: `${memoryMiB} MiB, ${load}: move`, value: (total / 1000).toFixed(2), unit: 's' },
              { label: `${memoryMiB} MiB, ${load}: downtime`, value: Math.round(downtime), unit: 'ms' },
              { label: `${memoryMiB} MiB, ${load}: memory sent`, value: (report.stateBytes / 2 ** 20).toFixed(0), unit: 'MiB' },
              { label: `${memoryMiB} MiB, ${load}: disk sent`, value: (report.diskBytes / 2 ** 20).toFixed(0), unit: 'MiB' },
            );
          } finally {
            await source.destroy(id).catch(() => undefined);
            await target.destroy(id).catch(() => undefined);
          }
        }
      }
    } finally {
      await channel.close();
      await source.close();
      await target.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
    return figures;
  },
};

export default migrationBench;
