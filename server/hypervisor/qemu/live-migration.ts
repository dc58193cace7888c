// Live migration between hosts, as libvirt does it without shared storage:
// the target's QEMU waits for the running state (-incoming) and serves its
// blank disk over NBD; the source mirrors its disk into that export while the
// guest runs (blockdev-mirror, sync=full), then migrates RAM and devices; once
// the source has stopped with nothing left to send, the mirror is completed
// (cancelled in its ready state: every write is on the target, none pivots
// here), and the target is let run.
//
// Neither QEMU opens a network port (their seccomp filter and users stay as
// they are): each stream goes through a Unix socket the source's server
// serves (relay), which a caller connects to the target however it reaches
// it — the node channel between hosts.
//
// 1. QMP · 2. The relay · 3. Waiting for the mirror
import { chownSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateProgress } from '../types';
import { ROOT_DEVICE } from './block-jobs';
import type { QmpExecutor } from './qmp-commands';

// ---------------------------------------------------------------- 1. QMP

const EXPORT_ID = 'migration-disk';
const MIRROR_TARGET = 'migration-target';
export const MIRROR_JOB = 'migration-mirror';

interface QmpBlockInfo {
  device: string;
  inserted?: { 'node-name': string; image: { 'virtual-size': number } };
}

interface QmpBlockJob {
  device: string;
  type: string;
  len: number;
  offset: number;
  ready: boolean;
  status: string;
}

/** The root disk's top node and virtual size, as QEMU has them. */
export async function rootDisk(m: QmpExecutor): Promise<{ node: string; bytes: number }> {
  const disk = (await m.execute<QmpBlockInfo[]>('query-block')).find((b) => b.device === ROOT_DEVICE)?.inserted;
  if (!disk) throw new Error('the guest has no root disk in QEMU');
  return { node: disk['node-name'], bytes: disk.image['virtual-size'] };
}

export const incoming = {
  /** Target: serve the (inactive, incoming) root disk, writable, to the source's mirror. Before QEMU's run directory closes: QEMU makes the socket. */
  serveDisk: async (m: QmpExecutor, socket: string) => {
    // nbd-server-start still takes the legacy socket address (type and data).
    await m.execute('nbd-server-start', { addr: { type: 'unix', data: { path: socket } } });
    await m.execute('block-export-add', { type: 'nbd', id: EXPORT_ID, 'node-name': (await rootDisk(m)).node, name: ROOT_DEVICE, writable: true });
  },
  /** Target, once the source is done: no more NBD. Each step is idempotent for a retried finish. */
  stopServing: async (m: QmpExecutor) => {
    await m.execute('block-export-del', { id: EXPORT_ID }).catch(() => undefined);
    await m.execute('nbd-server-stop').catch(() => undefined);
  },
};

export const mirror = {
  /** Source: the target's export, through the relay socket, as a block node. */
  addTarget: (m: QmpExecutor, socket: string) =>
    m.execute('blockdev-add', { driver: 'nbd', 'node-name': MIRROR_TARGET, server: { type: 'unix', path: socket }, export: ROOT_DEVICE }),
  /** `bytesPerSecond`: the most the copy takes (0: no limit); writes the guest makes meanwhile are mirrored as they come. */
  start: (m: QmpExecutor, bytesPerSecond: number) =>
    m.execute('blockdev-mirror', { 'job-id': MIRROR_JOB, device: ROOT_DEVICE, target: MIRROR_TARGET, sync: 'full', 'auto-dismiss': true, speed: bytesPerSecond }),
  job: async (m: QmpExecutor) => (await m.execute<QmpBlockJob[]>('query-block-jobs')).find((j) => j.device === MIRROR_JOB) ?? null,
  /** In its ready state, cancelling completes the mirror without switching to the target (the guest stays on its own disk). `force`: drop it as it is. */
  cancel: (m: QmpExecutor, force: boolean) => m.execute('block-job-cancel', { device: MIRROR_JOB, force }),
  removeTarget: (m: QmpExecutor) => m.execute('blockdev-del', { 'node-name': MIRROR_TARGET }),
};

/** Everything a source set up for a move, undone (a failed or abandoned move); what is not there is skipped. */
export async function dropMirror(m: QmpExecutor): Promise<void> {
  if (await mirror.job(m).catch(() => null)) {
    await mirror.cancel(m, true).catch(() => undefined);
    for (let i = 0; i < 100 && (await mirror.job(m).catch(() => null)); i++) await sleep(50);
  }
  await mirror.removeTarget(m).catch(() => undefined);
}

// ---------------------------------------------------------------- 2. the relay

export type OpenStream = (kind: 'disk' | 'state') => Promise<Duplex>;

export interface Relay {
  /** Bytes carried towards the target so far. */
  readonly sent: () => number;
  /** An error the relay met (a stream the target refused); the migration then fails on its own. */
  readonly failure: () => Error | null;
  close: () => void;
}

/**
 * Listen at `socket` (owned by the guest's user so only its QEMU connects)
 * and carry each connection to a stream `open` makes for `kind`, both ways.
 */
export async function relay(socket: string, owner: { uid: number; gid: number } | null, kind: 'disk' | 'state', open: OpenStream): Promise<Relay> {
  rmSync(socket, { force: true });
  let sent = 0;
  let failure: Error | null = null;
  const open_ = new Set<net.Socket | Duplex>();
  const server = net.createServer({ pauseOnConnect: true }, (local) => {
    open_.add(local);
    local.on('error', () => undefined);
    open(kind).then(
      (remote) => {
        open_.add(remote);
        remote.on('error', (e: Error) => {
          failure ??= e;
          local.destroy();
        });
        local.on('data', (b: Buffer) => (sent += b.length));
        local.pipe(remote);
        remote.pipe(local);
        local.on('close', () => remote.destroy());
        remote.on('close', () => local.destroy());
        local.resume();
        remote.resume();
      },
      (e: unknown) => {
        failure ??= e instanceof Error ? e : new Error(String(e));
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  if (owner) chownSync(socket, owner.uid, owner.gid);
  return {
    sent: () => sent,
    failure: () => failure,
    close: () => {
      server.close();
      for (const s of open_) s.destroy();
      rmSync(socket, { force: true });
    },
  };
}

// ---------------------------------------------------------------- 3. waiting for the mirror

/** Wait until the mirror has copied the whole disk and keeps it in step (ready); its progress on the way. */
export async function waitForMirrorReady(m: QmpExecutor, opts: { onProgress?: (p: StateProgress) => void; timeoutMs: number; failure: () => Error | null }): Promise<void> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const job = await mirror.job(m);
    if (!job) throw new Error(`the disk mirror ended before it was in step${opts.failure() ? `: ${opts.failure()!.message}` : ''}`);
    if (job.len > 0) opts.onProgress?.({ doneBytes: job.offset, totalBytes: job.len });
    if (job.ready) return;
    if (opts.failure()) throw opts.failure()!;
    if (Date.now() > until) throw new Error(`the disk mirror was not in step after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(100);
  }
}

/** Complete a ready mirror once the guest has stopped (cancel = complete without pivot) and wait for it to go. */
export async function completeMirror(m: QmpExecutor, timeoutMs = 60_000): Promise<void> {
  await mirror.cancel(m, false);
  const until = Date.now() + timeoutMs;
  while (await mirror.job(m)) {
    if (Date.now() > until) throw new Error('the disk mirror did not complete');
    await sleep(20);
  }
  await mirror.removeTarget(m);
}
