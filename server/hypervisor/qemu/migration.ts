// Saving a guest's running state to a file and bringing it back: QEMU's
// migration, aimed at a file instead of another host. QEMU 7.2 (Debian 12)
// has no `file:` migration URI (8.2 added it), so the stream goes through
// `exec:`: a `cat` QEMU starts writes it to a partial file that is synced
// and renamed to its final name only once the whole stream is in — a state
// file that exists is complete, whatever was killed half-way.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateProgress } from '../types';
import type { QmpExecutor } from './qmp-commands';

export interface MigrationStatus {
  /** none, setup, active, completed, failed, cancelled, … */
  status: string;
  ram?: { transferred: number; remaining: number; total: number };
  'error-desc'?: string;
}

export const migration = {
  query: (m: QmpExecutor) => m.execute<MigrationStatus>('query-migrate'),
  /** QEMU 7.2's default cap is 32 MiB/s, made for networks; a local file takes what the disk gives, or what the host allows. */
  setBandwidth: (m: QmpExecutor, bytesPerSecond: number) => m.execute<void>('migrate-set-parameters', { 'max-bandwidth': bytesPerSecond }),
  start: (m: QmpExecutor, uri: string) => m.execute<void>('migrate', { uri }),
  cancel: (m: QmpExecutor) => m.execute<void>('migrate_cancel'),
  /** For a QEMU started with `-incoming defer`. */
  incoming: (m: QmpExecutor, uri: string) => m.execute<void>('migrate-incoming', { uri }),
};

/** Paths reach /bin/sh inside single quotes: refuse any that could leave them. */
function quoted(file: string): string {
  if (!/^\/[A-Za-z0-9._/+=@-]+$/.test(file)) throw new Error(`unsafe path for a migration stream: ${JSON.stringify(file)}`);
  return `'${file}'`;
}

/** Write the stream to `partial`, sync it, then rename it to `final` (the rename says: complete). */
export function saveUri(partial: string, final: string): string {
  return `exec:cat > ${quoted(partial)} && sync ${quoted(partial)} && mv ${quoted(partial)} ${quoted(final)}`;
}

export function restoreUri(file: string): string {
  return `exec:cat ${quoted(file)}`;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Poll query-migrate until the migration ends; report RAM progress on the way.
 * Resolves on completed; throws with QEMU's reason otherwise.
 */
export async function waitForMigration(
  m: QmpExecutor,
  opts: { onProgress?: (p: StateProgress) => void; timeoutMs: number; everyMs?: number },
): Promise<void> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const s = await migration.query(m);
    if (s.ram && s.ram.total > 0) opts.onProgress?.({ doneBytes: Math.max(0, s.ram.total - s.ram.remaining), totalBytes: s.ram.total });
    if (s.status === 'completed') return;
    if (TERMINAL.has(s.status)) throw new Error(`migration ${s.status}${s['error-desc'] ? `: ${s['error-desc']}` : ''}`);
    if (Date.now() > until) throw new Error(`migration still ${s.status} after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(opts.everyMs ?? 200);
  }
}
