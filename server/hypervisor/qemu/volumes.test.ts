// Volumes against real QEMU and Cirrus Tiny Linux: a directory pool's volume
// hot-plugged into a running guest (which sees a 2 GiB virtio disk with the
// volume's serial), written, unplugged and plugged into another guest, which
// reads what the first wrote; carried over a suspend; throttled; refused where
// a memory snapshot would not hold it; plugged at boot; exported into from a
// guest's disk. Two guests, each booted once (and one of them again).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import { DirectoryPool } from '../storage';
import type { GuestSpec, VolumeAttachment } from '../types';
import { volumeSerial } from '../volumes';
import { QemuDriver } from './driver';
import { eventually, guestShell, testImagesDir } from './test-support';

const BOOT_MS = 90_000;
const GiB = 1024 ** 3;
const specOf = (id: string): GuestSpec => ({ id, vcpus: 1, memoryMiB: 160, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });
const A = specOf('vols-a');
const B = specOf('vols-b');
const V1 = 'vol-00000000000000a01';
const V2 = 'vol-00000000000000a02';
const V3 = 'vol-00000000000000a03';

let scratch: string;
let driver: QemuDriver;
let pool: DirectoryPool;

const sh = (id: string, line: string) => guestShell(driver, id, line);
const ready = (id: string) => eventually(async () => (await driver.serialLog(id, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, `${id} CIRRUS-READY`);
const volume = (id: string, limits: VolumeAttachment['limits'] = null): VolumeAttachment => ({ id, source: pool.source(id), limits });
/** The guest's disk with the volume's serial ('' when it has none). */
const diskOf = (guest: string, volumeId: string) => sh(guest, `for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${volumeSerial(volumeId)} ] && echo -n "\${d##*/}"; done`);
const seen = (guest: string, volumeId: string) => eventually(async () => (await diskOf(guest, volumeId)) || null, 20_000, `${guest} to see ${volumeId}`);
const bootId = (guest: string) => sh(guest, 'cat /proc/sys/kernel/random/boot_id');

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-volumes-'));
  driver = await QemuDriver.open({ guestsDir: path.join(scratch, 'guests'), imagesDir: testImagesDir(), stopTimeoutMs: 20_000 });
  pool = new DirectoryPool(path.join(scratch, 'pool'));
  for (const id of [V1, V2, V3]) await pool.create(id, 2 * GiB);
  for (const s of [A, B]) await driver.create(s);
  await Promise.all([A, B].map(async (s) => (await driver.start(s.id), await ready(s.id))));
}, 2 * BOOT_MS);

afterAll(async () => {
  for (const g of await driver.list()) await driver.destroy(g.id).catch(() => undefined);
  await driver.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('QemuDriver: volumes', () => {
  it('hot-plugs a volume into a running guest: a 2 GiB virtio disk with its serial, on the first volume slot', { timeout: 60_000 }, async () => {
    await driver.attachVolume(A.id, volume(V1));
    const dev = await seen(A.id, V1);
    expect(dev).toMatch(/^vd[b-z]$/);
    expect(Number(await sh(A.id, `cat /sys/block/${dev}/size`)) * 512).toBe(2 * GiB);
    expect(await driver.listVolumes(A.id)).toEqual([{ ...volume(V1), slot: 0x18 }]);
    expect(await driver.liveVolumeLimits(A.id, V1)).toEqual({ 'iops-total': 0, 'bps-total': 0 });
    // A marker on the raw device (busybox dd), flushed to the volume.
    expect(await sh(A.id, `echo cirrus-volume-marker | dd of=/dev/${dev} bs=512 count=1 conv=sync 2>/dev/null; sync; dd if=/dev/${dev} bs=20 count=1 2>/dev/null`)).toBe('cirrus-volume-marker');
    // Again (a retried job): the same attachment, nothing plugged twice.
    await driver.attachVolume(A.id, volume(V1));
    expect(await sh(A.id, `ls /sys/block | grep -c vd`)).toBe('2');
  });

  it('refuses the volume (or its file) to a second guest, a missing source and a wrong format', async () => {
    await expect(driver.attachVolume(B.id, volume(V1))).rejects.toThrow(/is attached to guest vols-a: detach it there first/);
    await expect(driver.attachVolume(B.id, { ...volume(V3), source: pool.source(V1) })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(driver.attachVolume(B.id, volume('vol-00000000000000bad'))).rejects.toThrow(/cannot be opened/);
    await expect(driver.attachVolume(B.id, { ...volume(V3), source: { ...pool.source(V3), format: 'raw' } })).rejects.toThrow(/is qcow2, not raw/);
    await expect(driver.attachVolume(B.id, { ...volume(V3), id: 'vol-3' })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    expect(await driver.listVolumes(B.id)).toEqual([]);
    // A file a running guest holds is not grown or deleted under it.
    await expect(pool.grow(V1, 3 * GiB)).rejects.toThrow(/in use by a running guest/);
    await expect(pool.delete(V1)).rejects.toThrow(/in use by a running guest/);
  });

  it('keeps a volume out of memory snapshots, but not out of disk-only ones', { timeout: 60_000 }, async () => {
    await expect(driver.createSnapshot(A.id, { name: 'mem', memory: true })).rejects.toThrow(/has volumes attached \(vol-00000000000000a01\).*detach its volumes first/);
    expect(await driver.createSnapshot(A.id, { name: 'disk', memory: false })).toMatchObject({ memory: false });
  });

  it('unplugs it when the guest lets go (the device disappears), and says so when it has not yet', { timeout: 60_000 }, async () => {
    // No time to let go: refused, still attached.
    await expect(driver.detachVolume(A.id, V1, { timeoutMs: 0 })).rejects.toThrow(/did not let go of volume vol-00000000000000a01 within 0 s/);
    expect((await driver.listVolumes(A.id)).map((v) => v.id)).toEqual([V1]);
    await driver.detachVolume(A.id, V1); // the request stands: this one finishes it
    expect(await driver.listVolumes(A.id)).toEqual([]);
    expect(await diskOf(A.id, V1)).toBe('');
    await driver.detachVolume(A.id, V1); // again: nothing to do
    await expect(driver.liveVolumeLimits(A.id, V1)).rejects.toThrow(/not found/); // its throttle group went with it
  });

  it('without volumes, a memory snapshot is taken and restored as before', { timeout: 90_000 }, async () => {
    const atSnapshot = await bootId(A.id);
    expect(await driver.createSnapshot(A.id, { name: 'mem', memory: true })).toMatchObject({ memory: true });

    await driver.attachVolume(A.id, volume(V2));
    await expect(driver.restoreSnapshot(A.id, 'mem')).rejects.toThrow(/detach its volumes first to restore snapshot mem/);
    await seen(A.id, V2);
    await driver.detachVolume(A.id, V2);
    const boot = await bootId(A.id);
    expect(boot).toBe(atSnapshot); // the hot-plug and unplug in between did not restart it
    const logBefore = (await driver.serialLog(A.id, 1 << 20)).length;
    expect(await driver.restoreSnapshot(A.id, 'mem')).toBe('running');
    const after = await bootId(A.id);
    expect((await driver.serialLog(A.id, 1 << 20)).slice(logBefore)).not.toMatch(/Linux version|CIRRUS-READY/);
    expect(after).toBe(boot);
  });

  it('plugs it into a second running guest, which reads what the first wrote', { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    await driver.attachVolume(B.id, volume(V1));
    const dev = await seen(B.id, V1);
    console.log(`hot-add seen by the guest after ${Date.now() - t0} ms`);
    expect(await sh(B.id, `dd if=/dev/${dev} bs=20 count=1 2>/dev/null`)).toBe('cirrus-volume-marker');
  });

  it('throttles it to its IOPS limit, changed live', { timeout: 60_000 }, async () => {
    const dev = await diskOf(B.id, V1);
    const reads = async () => {
      const t0 = Date.now();
      expect(await sh(B.id, `dd if=/dev/${dev} of=/dev/null bs=4096 count=40 iflag=direct 2>&1 | tail -1`)).toBe('40+0 records out');
      return Date.now() - t0;
    };
    const free = await reads();
    await driver.setVolumeLimits(B.id, V1, { iops: 20, bytesPerSecond: 0 });
    expect(await driver.liveVolumeLimits(B.id, V1)).toEqual({ 'iops-total': 20, 'bps-total': 0 });
    expect((await driver.listVolumes(B.id))[0]!.limits).toEqual({ iops: 20, bytesPerSecond: 0 });
    const limited = await reads();
    console.log(`40 direct 4 KiB reads: ${free} ms unthrottled, ${limited} ms at 20 IOPS`);
    expect(limited).toBeGreaterThan(1_500); // 40 operations at 20 a second, less the first burst
    expect(limited).toBeGreaterThan(free);
  });

  it('carries it over a suspend: the resumed machine has it on the same slot, with its limit, and can unplug it', { timeout: 120_000 }, async () => {
    const boot = await bootId(B.id);
    await driver.saveState(B.id);
    await expect(driver.attachVolume(B.id, volume(V2))).rejects.toThrow(/is suspended/);
    await expect(driver.detachVolume(B.id, V1)).rejects.toThrow(/is suspended with volume/);
    await driver.restoreState(B.id);
    expect(await bootId(B.id)).toBe(boot);
    const dev = await diskOf(B.id, V1);
    expect(await sh(B.id, `dd if=/dev/${dev} bs=20 count=1 iflag=direct 2>/dev/null`)).toBe('cirrus-volume-marker');
    expect(await driver.liveVolumeLimits(B.id, V1)).toEqual({ 'iops-total': 20, 'bps-total': 0 });
    await driver.detachVolume(B.id, V1); // plugged on the command line this time
    expect(await diskOf(B.id, V1)).toBe('');
  });

  it('records a volume for a stopped guest, which boots with it', { timeout: 2 * BOOT_MS }, async () => {
    await driver.stop(A.id);
    await driver.attachVolume(A.id, volume(V1, { iops: 0, bytesPerSecond: 50 * 1024 * 1024 }));
    await driver.attachVolume(A.id, volume(V2));
    expect((await driver.listVolumes(A.id)).map((v) => [v.id, v.slot])).toEqual([[V1, 0x18], [V2, 0x19]]);
    await driver.detachVolume(A.id, V2); // stopped: forgotten at once
    await driver.start(A.id); // its serial log starts over
    await ready(A.id);
    const dev = await diskOf(A.id, V1);
    expect(await sh(A.id, `dd if=/dev/${dev} bs=20 count=1 2>/dev/null`)).toBe('cirrus-volume-marker');
    expect(await driver.liveVolumeLimits(A.id, V1)).toEqual({ 'iops-total': 0, 'bps-total': 50 * 1024 * 1024 });
  });

  it('exports a guest’s disk into a volume: flattened, of its disk size, attached and read elsewhere', { timeout: 60_000 }, async () => {
    expect(await sh(A.id, 'echo exported > /data/marker; sync; cat /data/marker')).toBe('exported');
    await expect(driver.exportDisk(A.id, null, pool.source(V1))).rejects.toThrow(/is attached to guest vols-a/);
    const progress: number[] = [];
    await driver.exportDisk(A.id, null, pool.source(V3), (p) => progress.push(p.doneBytes / p.totalBytes));
    expect(progress.length).toBeGreaterThan(0);
    expect(await pool.info(V3)).toMatchObject({ sizeBytes: GiB });
    await driver.exportDisk(A.id, 'disk', pool.source(V2)); // its snapshot: before the marker
    await driver.attachVolume(B.id, volume(V3));
    await driver.attachVolume(B.id, volume(V2));
    const v3 = await seen(B.id, V3);
    const v2 = await seen(B.id, V2);
    expect(await sh(B.id, `mkdir -p /mnt/v3 && mount -t ext2 -o ro /dev/${v3} /mnt/v3 && cat /mnt/v3/marker; umount /mnt/v3`)).toBe('exported');
    expect(await sh(B.id, `mkdir -p /mnt/v2 && mount -t ext2 -o ro /dev/${v2} /mnt/v2 && cat /mnt/v2/marker 2>&1; umount /mnt/v2`)).toMatch(/No such file/);
  });

  it('destroying a guest leaves its volumes’ files in the pool', async () => {
    await driver.destroy(A.id);
    expect(existsSync(pool.source(V1).path)).toBe(true);
    expect((await pool.list()).map((v) => v.id)).toEqual([V1, V2, V3]);
    // Its volume is free for another guest now.
    await driver.attachVolume(B.id, volume(V1));
    await seen(B.id, V1);
  });
});
