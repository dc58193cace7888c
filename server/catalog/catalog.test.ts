import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images } from '../db/schema';
import { IMAGE_MANIFEST, ImageCatalog, qcow2VirtualSize } from '../hypervisor/images/catalog';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { syncImages } from '.';

let t: TestDatabase;
let dir: string;
beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-catalog-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

/** A qcow2 header (magic, version 3) declaring `virtual` bytes, padded to `bytes` on disk. */
function qcow2(file: string, virtual: bigint, bytes: number) {
  const buf = Buffer.alloc(bytes);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  buf.writeBigUInt64BE(virtual, 24);
  writeFileSync(file, buf);
}

function buildImage(id: string, manifest: Record<string, unknown> = {}) {
  const imgDir = path.join(dir, id);
  mkdirSync(imgDir, { recursive: true });
  writeFileSync(path.join(imgDir, 'vmlinuz'), Buffer.alloc(8192, 1));
  writeFileSync(path.join(imgDir, 'initrd.img'), Buffer.alloc(16384, 1));
  qcow2(path.join(imgDir, 'disk.qcow2'), 2n << 30n, 4096);
  writeFileSync(
    path.join(imgDir, IMAGE_MANIFEST),
    JSON.stringify({ id, name: `Image ${id}`, kernel: 'vmlinuz', initrd: 'initrd.img', disk: 'disk.qcow2', cmdline: 'console=ttyS0', minMemoryMiB: 96, minDiskGiB: 2, source: 'test', builtAt: '2026-11-01T10:00:00.000Z', ...manifest }),
  );
}

describe('image catalog in the database', () => {
  it('reads a qcow2 virtual size from its header, and nothing from other files', () => {
    qcow2(path.join(dir, 'a.qcow2'), 5n << 30n, 512);
    writeFileSync(path.join(dir, 'raw.img'), Buffer.alloc(512));
    expect(qcow2VirtualSize(path.join(dir, 'a.qcow2'))).toBe(5 * 2 ** 30);
    expect(qcow2VirtualSize(path.join(dir, 'raw.img'))).toBeNull();
  });

  it('records each built image with its footprint and build time, and keeps an admin’s disable across syncs', async () => {
    buildImage('test-distro');
    const catalog = new ImageCatalog(dir);
    await syncImages(t.db, catalog.list());
    const [row] = await t.db.select().from(images).where(eq(images.id, 'test-distro'));
    expect(row).toMatchObject({ name: 'Image test-distro', minMemoryMiB: 96, minDiskGiB: 2, virtualSizeBytes: 2 * 2 ** 30, enabled: true });
    expect(row!.sizeBytes).toBeGreaterThanOrEqual(8192 + 16384 + 4096);
    expect(row!.builtAt?.toISOString()).toBe('2026-11-01T10:00:00.000Z');

    await t.db.update(images).set({ enabled: false }).where(eq(images.id, 'test-distro'));
    buildImage('test-distro', { minMemoryMiB: 128, builtAt: 'not a date' });
    await syncImages(t.db, catalog.list());
    const [again] = await t.db.select().from(images).where(eq(images.id, 'test-distro'));
    expect(again).toMatchObject({ minMemoryMiB: 128, enabled: false, builtAt: null });
  });
});
