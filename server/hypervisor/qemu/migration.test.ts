import { describe, expect, it } from 'vitest';
import { unixUri, waitForMigration, type MigrationStatus } from './migration';
import type { QmpExecutor } from './qmp-commands';

const scripted = (answers: MigrationStatus[]): QmpExecutor => ({
  execute: async <T>() => (answers.length > 1 ? answers.shift() : answers[0]) as T,
});

describe('migration streams to a file', () => {
  it('goes through a Unix socket, named by an absolute path', () => {
    expect(unixUri('/d/g/migrate.sock')).toBe('unix:/d/g/migrate.sock');
    for (const bad of ['relative/migrate.sock', '/d/a\nb', '/d/a\0b']) expect(() => unixUri(bad)).toThrow(/bad socket path/);
  });

  it('reports RAM progress and resolves when QEMU says completed', async () => {
    const seen: number[] = [];
    await waitForMigration(
      scripted([
        { status: 'setup' },
        { status: 'active', ram: { total: 100, remaining: 60, transferred: 40 } },
        { status: 'completed', ram: { total: 100, remaining: 0, transferred: 100 } },
      ]),
      { onProgress: (p) => seen.push(p.doneBytes), timeoutMs: 5_000, everyMs: 1 },
    );
    expect(seen).toEqual([40, 100]);
  });

  it("fails with QEMU's reason", async () => {
    await expect(waitForMigration(scripted([{ status: 'failed', 'error-desc': 'disk full' }]), { timeoutMs: 5_000, everyMs: 1 })).rejects.toThrow(
      'migration failed: disk full',
    );
    await expect(waitForMigration(scripted([{ status: 'active' }]), { timeoutMs: 20, everyMs: 5 })).rejects.toThrow(/still active/);
  });
});
