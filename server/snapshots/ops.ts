// What the job worker does for a snapshot: take it, put the instance back to
// it, or delete it. Idempotent like every instance op (the driver's snapshot
// calls are, by name), and a last failed attempt says why on the snapshot or
// the instance instead of leaving a half one listed as usable.
import { and, eq } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { instances, snapshots } from '../db/schema';
import type { HypervisorDriver } from '../hypervisor';
import type { InstanceOpPayload } from '../jobs';
import { throttledProgress } from '../jobs/progress';
import type { NetworkAgent } from '../network/agent';
import { recordInstanceEvent, transition } from '../instances/transition';
import { meterSnapshots } from './snapshots';

const cirrus = systemActor('worker');
type Deps = { db: Db; driver: HypervisorDriver; network?: NetworkAgent };
type Inst = typeof instances.$inferSelect;

/** Writes progress onto the snapshot row at most twice a second. */
const progressOf = (db: Db, snapshotId: string) => throttledProgress((progress) => db.update(snapshots).set({ progress }).where(eq(snapshots.id, snapshotId)));

export async function runSnapshotOp(deps: Deps, inst: Inst, payload: InstanceOpPayload, lastAttempt: boolean): Promise<void> {
  const { db, driver, network } = deps;
  const snapshotId = payload.snapshotId;
  if (!snapshotId) return;
  const [snap] = await db.select().from(snapshots).where(eq(snapshots.id, snapshotId));
  if (!snap) return; // gone with its instance
  try {
    switch (payload.op) {
      case 'snapshot-create': {
        if (snap.state !== 'creating') return;
        const taken = await driver.createSnapshot(inst.id, { name: snap.id, memory: snap.withMemory }, progressOf(db, snap.id));
        await db.transaction(async (tx) => {
          await tx
            .update(snapshots)
            .set({
              state: 'available',
              withMemory: taken.memory,
              diskBytes: taken.diskBytes,
              stateBytes: taken.stateBytes,
              progress: null,
              stateReason: snap.withMemory && !taken.memory ? 'Its memory could not be saved (the host was interrupted); it holds the disk only.' : null,
            })
            .where(eq(snapshots.id, snap.id));
          await meterSnapshots(tx, inst);
          await recordInstanceEvent(tx, cirrus, { instanceId: inst.id, tenantId: inst.tenantId, action: 'snapshot', message: `Snapshot “${snap.name}” is available.` });
        });
        return;
      }
      case 'snapshot-restore': {
        if (inst.state !== 'restoring' || snap.state !== 'restoring') return;
        if (snap.withMemory) await network?.sync().catch(() => undefined);
        const now = await driver.restoreSnapshot(inst.id, snap.id, progressOf(db, snap.id));
        await network?.sync().catch(() => undefined);
        await db.transaction(async (tx) => {
          await tx.update(snapshots).set({ state: 'available', progress: null }).where(eq(snapshots.id, snap.id));
          await transition(tx, cirrus, inst.id, {
            from: ['restoring'],
            to: now,
            action: 'restored',
            message: now === 'running' ? `Back at snapshot “${snap.name}”, running where it was taken.` : `Its disk is back at snapshot “${snap.name}”.`,
          });
          await meterSnapshots(tx, { ...inst, state: now });
        });
        return;
      }
      case 'snapshot-delete': {
        if (snap.state !== 'deleting') return;
        await driver.deleteSnapshot(inst.id, snap.id, progressOf(db, snap.id));
        await db.transaction(async (tx) => {
          await tx.delete(snapshots).where(eq(snapshots.id, snap.id));
          await meterSnapshots(tx, inst);
          await recordInstanceEvent(tx, cirrus, { instanceId: inst.id, tenantId: inst.tenantId, action: 'snapshot-delete', message: `Snapshot “${snap.name}” is deleted.` });
        });
        return;
      }
    }
  } catch (err) {
    if (!lastAttempt) throw err;
    const reason = `${err instanceof Error ? err.message : String(err)}`.slice(0, 400);
    await db.transaction(async (tx) => {
      if (payload.op === 'snapshot-create') {
        await tx.update(snapshots).set({ state: 'error', progress: null, stateReason: `Taking it failed: ${reason}` }).where(eq(snapshots.id, snap.id));
      } else {
        await tx.update(snapshots).set({ state: 'available', progress: null, stateReason: `${payload.op === 'snapshot-restore' ? 'Restoring' : 'Deleting'} it failed: ${reason}` }).where(and(eq(snapshots.id, snap.id)));
      }
      if (payload.op === 'snapshot-restore') {
        // Where the guest is now says where the instance is: a restore cut short may have stopped it.
        const up = await driver.status(inst.id).then((s) => s.state !== 'stopped', () => false);
        await transition(tx, cirrus, inst.id, { from: ['restoring'], to: up ? 'running' : 'stopped', action: 'restore-failed', reason: `Restoring snapshot “${snap.name}” failed: ${reason}` });
      }
    });
  }
}
