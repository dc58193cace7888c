import { describe, expect, it } from 'vitest';
import { restoreUri, saveUri, waitForMigration, type MigrationStatus } from './migration';
import type { QmpExecutor } from './qmp-commands';

const scripted = (answers: MigrationStatus[]): QmpExecutor => ({
  execute: async <T>() => (answers.length > 1 ? answers.shift() : answers[0]) as T,
});

describe('migration streams to a file', () => {
  it('writes to the partial name and renames it only after cat and sync succeeded', () => {
    expect(saveUri('/d/g/saved.state.partial', '/d/g/saved.state')).toBe(
      "exec:cat > '/d/g/saved.state.partial' && sync '/d/g/saved.state.partial' && mv '/d/g/saved.state.partial' '/d/g/saved.state'",
    );
    expect(restoreUri('/d/g/saved.state')).toBe("exec:cat '/d/g/saved.state'");
  });

  it('refuses any path that could leave its quotes or be read as an option', () => {
    for (const bad of ["/d/it's", '/d/a b', '/d/$(reboot)', 'relative/path', '/d/a;b', '/d/`x`']) {
      expect(() => restoreUri(bad)).toThrow(/unsafe path/);
    }
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
