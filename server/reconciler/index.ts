// The hypervisor is the truth about what runs. The reconciler compares what
// the driver reports with the database and repairs the database: at start,
// on every driver event (prompt) and on a periodic sweep (certain). Each
// repair is counted for /metrics (cirrus_reconciler_repairs_total by kind).
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { instances } from '../db/schema';
import type { GuestEvent, GuestStatus, HypervisorDriver, StopReason } from '../hypervisor';
import type { InstanceState } from '../instances/can';
import { transition } from '../instances/transition';
import { enqueueInstanceOp, hasPendingJob, type InstanceOp } from '../jobs';
import { countRepair } from '../metrics/registry';
import { reconcileVolumes } from '../storage/ops';

export type ReconcilerOptions = {
  db: Db;
  driver: HypervisorDriver;
  hostId: string;
  /** A guest with no live instance is destroyed once it has been seen this long (ms). */
  orphanGraceMs?: number;
  /** A transitional state older than this with no job gets its job again; 4× this → error (ms). */
  stuckAfterMs?: number;
  sweepEveryMs?: number;
  log?: (m: string) => void;
};

const cirrus = systemActor('reconciler');

const stopMessages: Record<StopReason | 'vanished', string> = {
  'guest-shutdown': 'The guest shut itself down.',
  crashed: 'The guest crashed.',
  killed: 'The guest’s process was killed outside Cirrus.',
  saved: 'The guest’s state was saved to disk.',
  vanished: 'The guest was no longer running on its host.',
};

const retryOp: Partial<Record<InstanceState, InstanceOp>> = {
  pending: 'start',
  starting: 'start',
  stopping: 'stop',
  suspending: 'suspend',
  resuming: 'resume',
  resizing: 'resize',
  terminating: 'terminate',
};

export class Reconciler {
  private readonly orphanSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private readonly opts: Required<Omit<ReconcilerOptions, 'log'>> & { log: (m: string) => void };

  constructor(opts: ReconcilerOptions) {
    this.opts = {
      orphanGraceMs: 60_000,
      stuckAfterMs: 120_000,
      sweepEveryMs: 3_000,
      log: (m) => console.log(m),
      ...opts,
    };
  }

  start(): void {
    this.unsubscribe = this.opts.driver.onEvent((e) => void this.onEvent(e));
    const tick = () => {
      void this.sweep()
        .catch((err) => this.opts.log(`[reconciler] sweep failed: ${err instanceof Error ? err.message : err}`))
        .finally(() => {
          if (this.timer !== null) this.timer = setTimeout(tick, this.opts.sweepEveryMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    await this.running?.catch(() => undefined);
  }

  /** A guest stopped on its own: mark its instance stopped now, with the reason. */
  private async onEvent(e: GuestEvent): Promise<void> {
    if (e.type !== 'stopped') return;
    try {
      if (await this.markStopped(e.id, e.reason)) countRepair('guest-stopped');
    } catch (err) {
      this.opts.log(`[reconciler] event for ${e.id}: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Whether it moved (false: it was no longer running — someone else moved it first). */
  private async markStopped(id: string, reason: StopReason | 'vanished'): Promise<boolean> {
    const from = await this.opts.db.transaction((tx) =>
      transition(tx, cirrus, id, { from: ['running'], to: 'stopped', action: 'stopped', reason: stopMessages[reason], onHost: this.opts.hostId }),
    );
    return from !== null;
  }

  /** One full comparison of driver and database (serialised: never two at once). */
  sweep(): Promise<void> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    const { db, driver, hostId } = this.opts;
    const guests = new Map<string, GuestStatus>((await driver.list()).map((g) => [g.id, g]));
    const rows = await db
      .select({ id: instances.id, state: instances.state, age: sql<number>`extract(epoch from now() - ${instances.stateChangedAt}) * 1000` })
      .from(instances)
      .where(and(eq(instances.hostId, hostId), ne(instances.state, 'terminated')));
    const live = new Set(rows.map((r) => r.id));
    // Guests moving here are the target's half of a live migration, not orphans.
    for (const r of await db.select({ id: instances.id }).from(instances).where(eq(instances.migrationHostId, hostId))) live.add(r.id);

    for (const row of rows) {
      const guest = guests.get(row.id);
      const up = guest?.state === 'running' || guest?.state === 'paused';
      if (row.state === 'running' && !up) {
        if (await this.markStopped(row.id, 'vanished')) countRepair('guest-vanished');
      } else if (row.state === 'stopped' && up) {
        const from = await db.transaction((tx) =>
          transition(tx, cirrus, row.id, { from: ['stopped'], to: 'running', action: 'found-running', message: 'The guest was found running on its host.', onHost: hostId }),
        );
        if (from) countRepair('found-running');
      } else if (retryOp[row.state] && row.age > this.opts.stuckAfterMs && !(await hasPendingJob(db, row.id))) {
        const repaired = await this.unstick(row.id, row.state, row.age);
        if (repaired) countRepair(repaired);
      }
    }

    // Orphans: guests on this host with no live instance row.
    const now = Date.now();
    for (const id of guests.keys()) {
      if (live.has(id)) {
        this.orphanSeen.delete(id);
        continue;
      }
      const first = this.orphanSeen.get(id) ?? now;
      this.orphanSeen.set(id, first);
      if (now - first >= this.opts.orphanGraceMs) {
        this.opts.log(`[reconciler] destroying orphan guest ${id} (no live instance)`);
        await driver.destroy(id);
        this.orphanSeen.delete(id);
        countRepair('orphan-destroyed');
      }
    }
    for (const id of this.orphanSeen.keys()) if (!guests.has(id)) this.orphanSeen.delete(id);

    // Volumes: what the guests have attached and what the database says agree.
    for (const repair of await reconcileVolumes(db, driver, hostId, this.opts.log)) countRepair(repair);
  }

  /** The repair made, if any (the instance may have moved on meanwhile). */
  private async unstick(id: string, state: InstanceState, ageMs: number): Promise<'stuck-error' | 'job-requeued' | null> {
    const { db, hostId } = this.opts;
    return db.transaction(async (tx) => {
      if (ageMs > 4 * this.opts.stuckAfterMs) {
        const from = await transition(tx, cirrus, id, {
          from: [state],
          to: 'error',
          action: 'stuck',
          reason: `Stuck in ${state} for ${Math.round(ageMs / 1000)} s; terminate it or ask an administrator.`,
        });
        return from ? 'stuck-error' : null;
      }
      const [still] = await tx.select({ id: instances.id }).from(instances).where(and(eq(instances.id, id), inArray(instances.state, [state])));
      if (!still) return null;
      await enqueueInstanceOp(tx, hostId, { instanceId: id, op: retryOp[state]! });
      return 'job-requeued';
    });
  }
}
