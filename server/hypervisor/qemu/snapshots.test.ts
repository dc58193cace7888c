// External snapshots against real QEMU: a marker file on the guest's disk
// and a counter in its memory go back to each snapshot's point, and deleting
// a snapshot in the middle of the chain keeps the one built on it whole.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import type { GuestSpec } from '../types';
import { QemuDriver } from './driver';
import { guestLayout } from './layout';
import { eventually, guestShell, SerialSession, testImagesDir } from './test-support';

const BOOT_MS = 90_000;
const spec: GuestSpec = {
  id: 'snap-test',
  vcpus: 1,
  memoryMiB: 160,
  diskGiB: 1,
  nics: [{ mac: macAddress('snap-test', 0), tap: null }],
  image: 'cirrus-tiny-linux',
};

let guestsDir: string;
let driver: QemuDriver;

const sh = (line: string) => guestShell(driver, spec.id, line);

const ready = () => eventually(async () => (await driver.serialLog(spec.id, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
const marker = () => sh('cat /data/marker');
const count = async () => Number(await sh('cat /tmp/count'));

beforeAll(async () => {
  guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-snap-'));
  driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 20_000 });
  await driver.create(spec);
  await driver.start(spec.id);
  await ready();
  const serial = await SerialSession.open((await driver.console(spec.id)).serialSocket);
  try {
    serial.send('');
    serial.send('(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) & echo "counter-$((40+2))"');
    await serial.waitFor(/counter-42/);
  } finally {
    serial.close();
  }
  await eventually(async () => (await count()) >= 2, 20_000, 'the counter');
}, BOOT_MS + 30_000);

afterAll(async () => {
  await driver.destroy(spec.id).catch(() => undefined);
  await driver.close();
  rmSync(guestsDir, { recursive: true, force: true });
});

describe('QemuDriver: snapshots', () => {
  let atS2 = 0;

  it('takes a disk-only snapshot and one with memory of a running guest', { timeout: 120_000 }, async () => {
    expect(await sh('echo one > /data/marker; sync; cat /data/marker')).toBe('one');
    const s1 = await driver.createSnapshot(spec.id, { name: 's1', memory: false });
    expect(s1).toMatchObject({ name: 's1', memory: false, stateBytes: 0 });
    expect(s1.diskBytes).toBeGreaterThan(0);

    expect(await sh('echo two > /data/marker; sync; cat /data/marker')).toBe('two');
    await new Promise((r) => setTimeout(r, 2_000));
    const s2 = await driver.createSnapshot(spec.id, { name: 's2', memory: true });
    atS2 = await count();
    expect(s2).toMatchObject({ name: 's2', memory: true });
    expect(s2.stateBytes).toBeGreaterThan(1024 * 1024);
    expect((await driver.status(spec.id)).state).toBe('running'); // it goes on after the snapshot
    expect((await driver.listSnapshots(spec.id)).map((s) => s.name)).toEqual(['s1', 's2']);
    // Asked again (a retried job): the same snapshot, nothing taken twice.
    expect(await driver.createSnapshot(spec.id, { name: 's2', memory: true })).toMatchObject({ name: 's2', memory: true });
    expect(await sh('echo three > /data/marker; sync; cat /data/marker')).toBe('three');
  });

  it('refuses to put a disk-only snapshot under a running guest', async () => {
    await expect(driver.restoreSnapshot(spec.id, 's1')).rejects.toThrow(/is running: a snapshot without memory is restored into a stopped guest/);
    await expect(driver.restoreSnapshot(spec.id, 'nope')).rejects.toThrow(/has no snapshot nope/);
  });

  it('restores the memory snapshot: running from its point, with its disk, without a boot', { timeout: 120_000 }, async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    const before = await count();
    const logBefore = (await driver.serialLog(spec.id, 1 << 20)).length;
    expect(await driver.restoreSnapshot(spec.id, 's2')).toBe('running');
    expect(await marker()).toBe('two');
    const back = await count();
    expect(back).toBeGreaterThanOrEqual(atS2 - 1);
    expect(back).toBeLessThan(before);
    expect((await driver.serialLog(spec.id, 1 << 20)).slice(logBefore)).not.toMatch(/Linux version|CIRRUS-READY/);
  });

  it('restores the disk-only snapshot into the stopped guest: it boots with that disk', { timeout: 2 * BOOT_MS }, async () => {
    await driver.stop(spec.id);
    expect(await driver.restoreSnapshot(spec.id, 's1')).toBe('stopped');
    await driver.start(spec.id);
    await ready();
    expect(await marker()).toBe('one');
  });

  it('deletes the middle snapshot while the guest runs: the one built on it still restores whole', { timeout: 120_000 }, async () => {
    const dir = guestLayout(guestsDir, spec.id).dir;
    const before = readdirSync(dir).filter((f) => f.endsWith('.qcow2')).length;
    await driver.deleteSnapshot(spec.id, 's1');
    expect((await driver.listSnapshots(spec.id)).map((s) => s.name)).toEqual(['s2']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.qcow2')).length).toBe(before - 1);
    await driver.deleteSnapshot(spec.id, 's1'); // again: nothing to do
    // The running guest's disk took s1's data in: it still reads its marker.
    expect(await marker()).toBe('one');
    expect(await driver.restoreSnapshot(spec.id, 's2')).toBe('running');
    expect(await marker()).toBe('two');
    await driver.deleteSnapshot(spec.id, 's2');
    expect(await driver.listSnapshots(spec.id)).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith('snapshot-'))).toBe(false);
    expect(await marker()).toBe('two');
  });

  it('destroy removes every snapshot file with the guest', async () => {
    await driver.createSnapshot(spec.id, { name: 's3', memory: false });
    await driver.destroy(spec.id);
    expect(existsSync(guestLayout(guestsDir, spec.id).dir)).toBe(false);
  });
});
