// Live migration between two QEMU drivers (two hosts' guest directories on
// this machine, each with its own cgroup parent), the streams carried by the
// test as a node channel would carry them. A running Tiny Linux guest with a
// counter in it moves without a reboot (the same boot id) and the counter goes
// on; a move whose target goes away half-way leaves the guest running where it was.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import type { GuestSpec } from '../types';
import { QemuDriver } from './driver';
import { qemuProcessesFor } from '../../test/server-process';
import { eventually, guestShell, testImagesDir } from './test-support';

const BOOT_MS = 90_000;
const spec = (id: string): GuestSpec => ({ id, vcpus: 1, memoryMiB: 192, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });

let dirs: string[] = [];
let source: QemuDriver;
let target: QemuDriver;

const sh = (d: QemuDriver, id: string, line: string) => guestShell(d, id, line);
async function boot(d: QemuDriver, id: string) {
  await d.create(spec(id));
  await d.start(id);
  await eventually(async () => (await d.serialLog(id, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
}

/** As the node channel would: each stream the source opens goes to the target's socket for it. */
const streamsTo = (d: QemuDriver, id: string) => async (kind: 'disk' | 'state') => {
  const at = await d.incomingEndpoints(id);
  const sock = net.connect(kind === 'disk' ? at.disk : at.state);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return sock;
};

beforeAll(async () => {
  dirs = [mkdtempSync(path.join(os.tmpdir(), 'cirrus-mig-src-')), mkdtempSync(path.join(os.tmpdir(), 'cirrus-mig-dst-'))];
  source = await QemuDriver.open({ guestsDir: dirs[0], imagesDir: testImagesDir(), stopTimeoutMs: 10_000, cgroupParent: 'cirrus-guests-src' });
  target = await QemuDriver.open({ guestsDir: dirs[1], imagesDir: testImagesDir(), stopTimeoutMs: 10_000, cgroupParent: 'cirrus-guests-dst' });
}, 60_000);

afterAll(async () => {
  for (const d of [source, target]) {
    for (const g of (await d?.list().catch(() => [])) ?? []) await d.destroy(g.id).catch(() => undefined);
    await d?.close();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('QemuDriver: live migration', { timeout: 240_000 }, () => {
  it('moves a running guest with its disk to another host without a reboot; a counter in it goes on counting', async () => {
    const id = 'mig-live';
    await boot(source, id);
    // A file written on the disk before the move, and a counter running in memory through it.
    await sh(source, id, 'echo kept-on-disk > /data/marker; sync; echo ok');
    await sh(source, id, " sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null 2>&1 & echo started");
    const bootId = await sh(source, id, 'cat /proc/sys/kernel/random/boot_id');
    const before = Number(await sh(source, id, 'cat /tmp/count'));
    expect(before).toBeGreaterThan(0);

    const incoming = await source.migrationSource(id);
    expect(incoming).toMatchObject({ spec: { id, vcpus: 1, memoryMiB: 192 }, diskBytes: 2 ** 30 });
    await target.prepareIncoming(incoming);
    expect((await target.status(id)).state).toBe('paused');
    const phases = new Set<string>();
    const report = await source.migrateOut(id, streamsTo(target, id), (p) => phases.add(p.phase));
    await target.finishIncoming(id);
    await source.destroy(id);
    console.log(`[live-migration] downtime ${report.downtimeMs} ms; ${(report.diskBytes / 2 ** 20).toFixed(1)} MiB of disk and ${(report.stateBytes / 2 ** 20).toFixed(1)} MiB of state carried`);

    expect([...phases].sort()).toEqual(['disk', 'memory']);
    expect(report.stateBytes).toBeGreaterThan(1 << 20);
    expect(report.diskBytes).toBeGreaterThan(1 << 20);
    expect(report.downtimeMs).toBeGreaterThanOrEqual(0);
    expect((await target.status(id)).state).toBe('running');
    // Exactly one QEMU runs it, the target's.
    const pids = qemuProcessesFor(id);
    expect(pids).toHaveLength(1);
    expect(pids[0]).toBe((await target.status(id)).pid);
    // The same boot, the same disk, and the counter goes on from where it was.
    expect(await sh(target, id, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    expect(await sh(target, id, 'cat /data/marker')).toBe('kept-on-disk');
    const after = Number(await sh(target, id, 'cat /tmp/count'));
    expect(after).toBeGreaterThan(before);
    await eventually(async () => Number(await sh(target, id, 'cat /tmp/count')) > after, 10_000, 'the counter counting on the target');
    // What it writes now goes to its own disk on the target, which holds everything (no backing file).
    await sh(target, id, 'echo written-after > /data/after; sync; echo ok');
    expect(await sh(target, id, 'cat /data/after /data/marker | tr "\\n" " "')).toBe('written-after kept-on-disk');
    await target.destroy(id);
  });

  it('leaves the guest running where it was when the target goes away half-way', async () => {
    const id = 'mig-fail';
    await boot(source, id);
    const bootId = await sh(source, id, 'cat /proc/sys/kernel/random/boot_id');
    await target.prepareIncoming(await source.migrationSource(id));
    // The target's QEMU is killed as soon as the first stream reaches it.
    const open = streamsTo(target, id);
    const killing = async (kind: 'disk' | 'state') => {
      const s = await open(kind);
      const pid = (await target.status(id)).pid;
      if (pid) process.kill(pid, 'SIGKILL');
      return s;
    };
    await expect(source.migrateOut(id, killing)).rejects.toThrow(/moving guest mig-fail failed/);
    expect((await source.status(id)).state).toBe('running');
    expect(await sh(source, id, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    await target.destroy(id);
    // And it can still move once the target is there again.
    await target.prepareIncoming(await source.migrationSource(id));
    await source.migrateOut(id, streamsTo(target, id));
    await target.finishIncoming(id);
    await source.destroy(id);
    expect(await sh(target, id, 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    expect(qemuProcessesFor(id)).toHaveLength(1);
  });
});
