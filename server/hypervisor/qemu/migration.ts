// Saving a guest's running state to a file and bringing it back: QEMU's
// migration, aimed at a file instead of another host. QEMU 7.2 (Debian 12)
// has no `file:` migration URI (8.2 added it), and QEMU itself may not start
// a helper (its seccomp filter denies spawning), so the stream goes through a
// Unix socket the server serves (state-stream.ts): the server writes what QEMU
// sends to a partial file, syncs it and renames it to its final name only once
// the whole stream is in — a state file that exists is complete, whatever was
// killed half-way — and feeds a saved file back to a QEMU waiting for it.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateProgress } from '../types';
import type { QmpExecutor } from './qmp-commands';

export interface MigrationStatus {
  /** none, setup, active, completed, failed, cancelled, … */
  status: string;
  ram?: { transferred: number; remaining: number; total: number };
  'error-desc'?: string;
  /** Once completed: how long the guest was stopped for the last pass, in ms. */
  downtime?: number;
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

/** A migration stream through the Unix socket at `socket`. */
export function unixUri(socket: string): string {
  if (!path.isAbsolute(socket) || /[\0\n]/.test(socket)) throw new Error(`bad socket path for a migration stream: ${JSON.stringify(socket)}`);
  return `unix:${socket}`;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Poll query-migrate until the migration ends; report RAM progress on the way.
 * Resolves on completed; throws with QEMU's reason otherwise.
 */
export async function waitForMigration(
  m: QmpExecutor,
  opts: { onProgress?: (p: StateProgress) => void; timeoutMs: number; everyMs?: number; failure?: () => Error | null },
): Promise<void> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const s = await migration.query(m);
    // Asked to stop while it still runs (a cancelled move): once completed, it is too late.
    if (s.status !== 'completed' && opts.failure?.()) throw opts.failure()!;
    if (s.ram && s.ram.total > 0) opts.onProgress?.({ doneBytes: Math.max(0, s.ram.total - s.ram.remaining), totalBytes: s.ram.total });
    if (s.status === 'completed') return;
    if (TERMINAL.has(s.status)) throw new Error(`migration ${s.status}${s['error-desc'] ? `: ${s['error-desc']}` : ''}`);
    if (Date.now() > until) throw new Error(`migration still ${s.status} after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(opts.everyMs ?? 200);
  }
}
