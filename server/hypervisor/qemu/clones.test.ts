// Clones and captured images against real QEMU: linked and full, from a
// running guest's disk now and from a snapshot. Each clone boots with its source's marker and its own
// MACs and goes its own way; a linked clone keeps reading its source's files
// after the snapshot it came from is deleted and after the source is
// destroyed, and those files go with the last clone that needed them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import type { GuestSpec } from '../types';
import { QemuDriver } from './driver';
import { readChain } from './disk-chain';
import { guestLayout } from './layout';
import { eventually, guestShell, testImagesDir } from './test-support';

const BOOT_MS = 90_000;
const specOf = (id: string): GuestSpec => ({ id, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });
const SRC = specOf('clone-src');

let guestsDir: string;
let driver: QemuDriver;

const ready = (id: string) => eventually(async () => (await driver.serialLog(id, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, `${id} CIRRUS-READY`);
const sh = (id: string, line: string) => guestShell(driver, id, line);
const boot = async (id: string) => {
  await driver.start(id);
  await ready(id);
};
const macOf = (id: string) => sh(id, 'cat /sys/class/net/eth0/address');
const readChainActive = (id: string) => readChain(guestLayout(guestsDir, id).dir, guestLayout(guestsDir, id).disk).active;
const backingOf = (file: string) => (JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', file], { encoding: 'utf8' })) as { 'backing-filename'?: string })['backing-filename'] ?? null;

beforeAll(async () => {
  guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-clone-'));
  driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 20_000 });
  await driver.create(SRC);
  await boot(SRC.id);
  expect(await sh(SRC.id, 'echo one > /data/marker; sync; cat /data/marker')).toBe('one');
  await driver.createSnapshot(SRC.id, { name: 's1', memory: false });
  expect(await sh(SRC.id, 'echo two > /data/marker; sync; cat /data/marker')).toBe('two');
}, BOOT_MS + 30_000);

afterAll(async () => {
  for (const g of await driver.list()) await driver.destroy(g.id).catch(() => undefined);
  await driver.close();
  rmSync(guestsDir, { recursive: true, force: true });
});

describe('QemuDriver: clones', () => {
  it('makes a linked clone of a running guest’s disk now: its marker, its own MACs, its own way', { timeout: 2 * BOOT_MS }, async () => {
    await driver.clone(SRC.id, specOf('clone-linked'), { snapshot: null, linked: true });
    const disk = guestLayout(guestsDir, 'clone-linked').disk;
    expect(path.dirname(backingOf(disk)!)).toBe(guestLayout(guestsDir, SRC.id).dir); // an overlay on the source's frozen file
    await boot('clone-linked');
    expect(await sh('clone-linked', 'cat /data/marker')).toBe('two');
    expect(await macOf('clone-linked')).toBe(macAddress('clone-linked', 0));
    expect(await macOf(SRC.id)).toBe(macAddress(SRC.id, 0));
    expect(await sh('clone-linked', 'echo linked > /data/marker; sync; cat /data/marker')).toBe('linked');
    expect(await sh(SRC.id, 'cat /data/marker')).toBe('two');
    // The source goes on writing while its clone runs.
    expect(await sh(SRC.id, 'echo three > /data/marker; sync; cat /data/marker')).toBe('three');
    expect(await sh('clone-linked', 'cat /data/marker')).toBe('linked');
    await expect(driver.clone(SRC.id, specOf('clone-linked'), { snapshot: null, linked: true })).rejects.toThrow(/already exists/);
  });

  it('makes a full clone of a snapshot: a standalone disk with the snapshot’s data', { timeout: 2 * BOOT_MS }, async () => {
    const progress: number[] = [];
    await driver.clone(SRC.id, specOf('clone-full'), { snapshot: 's1', linked: false }, (p) => progress.push(p.doneBytes / p.totalBytes));
    expect(backingOf(guestLayout(guestsDir, 'clone-full').disk)).toBeNull();
    expect(progress.at(-1)).toBe(1);
    await boot('clone-full');
    expect(await sh('clone-full', 'cat /data/marker')).toBe('one');
    // Its first file stands alone, so deleting a snapshot of it leaves the disk built on it standing alone too.
    await driver.createSnapshot('clone-full', { name: 'f1', memory: false });
    await driver.deleteSnapshot('clone-full', 'f1');
    expect(backingOf(readChainActive('clone-full'))).toBeNull();
    expect(await sh('clone-full', 'cat /data/marker')).toBe('one');
    await expect(driver.clone(SRC.id, specOf('clone-x'), { snapshot: 'nope', linked: true })).rejects.toThrow(/has no snapshot nope/);
    expect(existsSync(guestLayout(guestsDir, 'clone-x').dir)).toBe(false);
  });

  it('captures images from a snapshot and from the disk now: guests boot from them; one in use is not deleted', { timeout: 3 * BOOT_MS }, async () => {
    const progress: number[] = [];
    const fromSnap = await driver.captureImage(SRC.id, { snapshot: 's1', imageId: 'ami-snap', name: 'From s1' }, (p) => progress.push(p.doneBytes / p.totalBytes));
    expect(fromSnap.virtualSizeBytes).toBe(1024 ** 3);
    expect(fromSnap.sizeBytes).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(1);
    const image = driver.catalog.find('ami-snap')!;
    expect(image).toMatchObject({ captured: true, name: 'From s1', minDiskGiB: 1, capturedFrom: { guest: SRC.id, snapshot: 's1', image: 'cirrus-tiny-linux' } });
    expect(backingOf(image.diskPath)).toBeNull(); // flattened: nothing under it
    // Again with the same id (a retried job): the same image, not a second copy.
    expect(await driver.captureImage(SRC.id, { snapshot: 's1', imageId: 'ami-snap', name: 'From s1' })).toEqual(fromSnap);
    await expect(driver.captureImage(SRC.id, { snapshot: null, imageId: 'cirrus-tiny-linux', name: 'x' })).rejects.toThrow(/already exists/);

    await driver.captureImage(SRC.id, { snapshot: null, imageId: 'ami-now', name: 'Now' });
    await driver.create({ ...specOf('from-snap'), image: 'ami-snap' });
    await driver.create({ ...specOf('from-now'), image: 'ami-now' });
    await boot('from-snap');
    await boot('from-now');
    expect(await sh('from-snap', 'cat /data/marker')).toBe('one');
    expect(await sh('from-now', 'cat /data/marker')).toBe('three');

    await expect(driver.deleteImage('ami-snap')).rejects.toThrow('image ami-snap is the disk of guest from-snap');
    await expect(driver.deleteImage('cirrus-tiny-linux')).rejects.toThrow(/was built, not captured/);
    for (const id of ['from-snap', 'from-now']) await driver.destroy(id);
    await driver.deleteImage('ami-snap');
    await driver.deleteImage('ami-now');
    await driver.deleteImage('ami-now'); // idempotent
    expect(driver.catalog.find('ami-snap')).toBeNull();
    expect(readdirSync(driver.catalog.capturedDir!)).toEqual([]);
  });

  it('keeps what linked clones read past the deletion of their snapshot and the destruction of their source', { timeout: 3 * BOOT_MS }, async () => {
    await driver.clone(SRC.id, specOf('clone-snap'), { snapshot: 's1', linked: true });
    await driver.deleteSnapshot(SRC.id, 's1');
    expect(await driver.listSnapshots(SRC.id)).toEqual([]);
    expect(await sh(SRC.id, 'cat /data/marker')).toBe('three');
    await boot('clone-snap');
    expect(await sh('clone-snap', 'cat /data/marker')).toBe('one');

    await driver.destroy(SRC.id);
    const srcDir = guestLayout(guestsDir, SRC.id).dir;
    expect((await driver.list()).map((g) => g.id)).not.toContain(SRC.id);
    expect(readdirSync(srcDir)).toContain('retained.json');
    expect(readdirSync(srcDir).filter((f) => !f.endsWith('.qcow2') && f !== 'retained.json')).toEqual([]);
    // Both linked clones still boot from what it left.
    for (const id of ['clone-linked', 'clone-snap']) {
      await driver.stop(id);
      await boot(id);
    }
    expect(await sh('clone-linked', 'cat /data/marker')).toBe('linked');
    expect(await sh('clone-snap', 'cat /data/marker')).toBe('one');

    // A snapshot of a clone, deleted again: its data merges down onto the source's file, not past it.
    await driver.createSnapshot('clone-snap', { name: 'c1', memory: false });
    await driver.deleteSnapshot('clone-snap', 'c1');
    expect(await sh('clone-snap', 'cat /data/marker')).toBe('one');

    await driver.destroy('clone-linked');
    expect(existsSync(srcDir)).toBe(true); // clone-snap still reads from it
    await driver.destroy('clone-snap');
    expect(existsSync(srcDir)).toBe(false);
    // The full clone never needed it.
    expect(await sh('clone-full', 'cat /data/marker')).toBe('one');
  });

  it('refuses to clone a guest that is suspended (its disk is under a saved state)', { timeout: 60_000 }, async () => {
    await driver.saveState('clone-full');
    await expect(driver.clone('clone-full', specOf('clone-y'), { snapshot: null, linked: false })).rejects.toThrow(/is suspended/);
    await driver.restoreState('clone-full');
  });
});
