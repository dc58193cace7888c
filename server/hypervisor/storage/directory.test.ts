// The directory pool against real qemu-img in a scratch directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHypervisorError } from '../types';
import { DirectoryPool, openStoragePool } from './index';

const GiB = 1024 ** 3;
const A = 'vol-0123456789abcdef0';
const B = 'vol-0123456789abcdef1';
let dir: string;
let pool: DirectoryPool;

beforeAll(() => {
  dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'cirrus-pool-')), 'pool');
  pool = new DirectoryPool(dir);
});

afterAll(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isHypervisorError(e) ? e.code : String(e)));

describe('DirectoryPool', () => {
  it('makes a thin qcow2 per volume (the directory on first use), idempotently', async () => {
    expect(await pool.list()).toEqual([]);
    const a = await pool.create(A, 2 * GiB);
    expect(a).toMatchObject({ id: A, sizeBytes: 2 * GiB });
    expect(a.allocatedBytes).toBeGreaterThan(0);
    expect(a.allocatedBytes).toBeLessThan(4 * 1024 * 1024); // thin: metadata only
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path.join(dir, `${A}.qcow2`)], { encoding: 'utf8' })) as { format: string };
    expect(info.format).toBe('qcow2');
    // Again (a retried job), even with another size: the one there is returned as it is.
    expect(await pool.create(A, 4 * GiB)).toEqual(a);
    expect(await pool.list()).toEqual([a]);
    expect(readdirSync(dir)).toEqual([`${A}.qcow2`]); // nothing temporary left
    expect(pool.source(A)).toEqual({ kind: 'file', path: path.join(dir, `${A}.qcow2`), format: 'qcow2' });
    expect(pool.location).toBe(dir);
  });

  it('counts what a volume really takes as it is written', async () => {
    const file = path.join(dir, `${A}.qcow2`);
    const before = (await pool.info(A))!.allocatedBytes;
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 8M', file], { stdio: 'ignore' });
    const after = (await pool.info(A))!;
    expect(after.sizeBytes).toBe(2 * GiB);
    expect(after.allocatedBytes - before).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  it('grows a volume and refuses to shrink one', async () => {
    expect(await pool.grow(A, 3 * GiB)).toMatchObject({ id: A, sizeBytes: 3 * GiB });
    expect(await pool.grow(A, 3 * GiB)).toMatchObject({ sizeBytes: 3 * GiB }); // the size it has: no change
    await expect(pool.grow(A, GiB)).rejects.toThrow(/only grows/);
    expect(await code(pool.grow(A, GiB))).toBe('INVALID_SPEC');
    expect(await code(pool.grow(B, 3 * GiB))).toBe('NOT_FOUND');
    const out = execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0xab 0 8M', path.join(dir, `${A}.qcow2`)], { encoding: 'utf8' });
    expect(out).not.toMatch(/Pattern verification failed/); // its data came along
  });

  it('checks every id before it becomes a path, and every size', async () => {
    for (const id of ['../etc/passwd', 'vol-0123', 'VOL-0123456789ABCDEF0', `${A}/x`, 'vol-0123456789abcdef0.qcow2', '']) {
      expect(await code(pool.create(id, GiB))).toBe('INVALID_SPEC');
      expect(await code(pool.info(id))).toBe('INVALID_SPEC');
      expect(await code(pool.delete(id))).toBe('INVALID_SPEC');
      expect(() => pool.source(id)).toThrow(/volume id must match/);
    }
    for (const size of [0, -512, 1000, 1.5, 2 ** 60]) expect(await code(pool.create(B, size))).toBe('INVALID_SPEC');
    expect(existsSync(path.join(dir, `${B}.qcow2`))).toBe(false);
    expect(() => new DirectoryPool('relative/dir')).toThrow(/absolute path/);
    expect(() => new DirectoryPool('/srv/../etc')).toThrow(/absolute path/);
  });

  it('reports the space of the filesystem it is on', async () => {
    const s = await pool.space();
    const df = execFileSync('df', ['-B1', '--output=size', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
    expect(s.totalBytes).toBe(Number(df));
    expect(s.freeBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeLessThanOrEqual(s.totalBytes);
  });

  it('deletes a volume idempotently, with what a cut-short create left', async () => {
    await pool.create(B, GiB);
    writeFileSync(path.join(dir, `.${B}.qcow2.deadbeef.partial`), 'half');
    expect((await pool.list()).map((v) => v.id)).toEqual([A, B]);
    await pool.delete(B);
    await pool.delete(B);
    expect(await pool.info(B)).toBeNull();
    expect(readdirSync(dir)).toEqual([`${A}.qcow2`]);
  });

  it('is made from a pool row by openStoragePool', async () => {
    const p = openStoragePool({ kind: 'directory', path: `${dir}/` });
    expect(p.kind).toBe('directory');
    expect(p.location).toBe(dir);
    expect((await p.list()).map((v) => v.id)).toEqual([A]);
    expect(() => openStoragePool({ kind: 'lvm' } as never)).toThrow(/unknown storage pool kind/);
  });
});
