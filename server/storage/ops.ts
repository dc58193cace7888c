// What the job worker does for a volume. Blank ones are made and any is
// deleted in the volume's own queue; attach, detach and a copy of a snapshot
// run in an instance's queue. Each reads the state now, does only what is
// missing (the pool's and driver's calls are idempotent by volume id) and
// moves the state with a compare-and-set, so a retry or a restart after
// kill -9 converges; a last failed attempt says why on the volume and leaves
// it in a state it can leave.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { instances, storagePools, volumes } from '../db/schema';
import { isHypervisorError, type HypervisorDriver } from '../hypervisor';
import { recordInstanceEvent } from '../instances/transition';
import { enqueueInstanceOp, enqueueVolumeOp, type InstanceOpPayload, type VolumeOpPayload } from '../jobs';
import { throttledProgress } from '../jobs/progress';
import { GiB, type PoolOpener } from './pools';
import { limitsOf, openVolumeUsage } from './volumes';

const cirrus = systemActor('worker');
export type VolumeDeps = { db: Db; driver: HypervisorDriver; pools: PoolOpener };
type Inst = typeof instances.$inferSelect;
type VolumeRow = typeof volumes.$inferSelect;
const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 400);

async function loadVolume(db: Db, volumeId: string | undefined) {
  if (!volumeId) return null;
  const [row] = await db.select({ vol: volumes, pool: storagePools }).from(volumes).innerJoin(storagePools, eq(storagePools.id, volumes.poolId)).where(eq(volumes.id, volumeId));
  return row ?? null;
}

/** `from` → available (made), with what it takes and its billing opened, in one transaction. */
async function madeAvailable(db: Db, vol: VolumeRow, allocatedBytes: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [moved] = await tx
      .update(volumes)
      .set({ state: 'available', progress: null, stateReason: null, allocatedBytes })
      .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'creating')))
      .returning({ id: volumes.id });
    if (moved) await openVolumeUsage(tx, vol);
    return Boolean(moved);
  });
}

/** Blank volumes are made, and any volume is deleted, here. */
export async function runVolumeOp(deps: VolumeDeps, payload: VolumeOpPayload, attempt: { attempts: number; maxAttempts: number }): Promise<void> {
  const { db, pools } = deps;
  const found = await loadVolume(db, payload.volumeId);
  if (!found) return;
  const { vol, pool: poolRow } = found;
  const last = attempt.attempts >= attempt.maxAttempts;
  try {
    const pool = pools(poolRow);
    if (payload.op === 'volume-create') {
      if (vol.state !== 'creating') return;
      const made = await pool.create(vol.id, vol.sizeGiB * GiB);
      await madeAvailable(db, vol, made.allocatedBytes);
      return;
    }
    if (vol.state !== 'deleting') return;
    await pool.delete(vol.id);
    await db.update(volumes).set({ state: 'deleted', deletedAt: sql`now()` }).where(and(eq(volumes.id, vol.id), eq(volumes.state, 'deleting')));
  } catch (err) {
    if (!last) throw err;
    const why = payload.op === 'volume-create' ? `Making it failed: ${reasonOf(err)}` : `Deleting it failed (its data is still there; delete it again): ${reasonOf(err)}`;
    await db
      .update(volumes)
      .set({ state: 'error', progress: null, stateReason: why })
      .where(and(eq(volumes.id, vol.id), eq(volumes.state, payload.op === 'volume-create' ? 'creating' : 'deleting')));
  }
}

/** volume-attach, volume-detach and volume-create (from a snapshot of `inst`), in the instance's queue. */
export async function runVolumeInstanceOp(deps: VolumeDeps, inst: Inst, payload: InstanceOpPayload, lastAttempt: boolean): Promise<void> {
  const { db, driver, pools } = deps;
  const found = await loadVolume(db, payload.volumeId);
  if (!found) return;
  const { vol, pool: poolRow } = found;
  const event = (action: string, message: string) =>
    db.transaction((tx) => recordInstanceEvent(tx, cirrus, { instanceId: inst.id, tenantId: inst.tenantId, action, message }));
  switch (payload.op) {
    case 'volume-attach': {
      if (vol.state !== 'attaching' || vol.instanceId !== inst.id) return;
      // Its instance moved on (terminated, started meanwhile, suspended) before this ran: the volume is free again.
      const refuse = async (reason: string) => {
        await db
          .update(volumes)
          .set({ state: 'available', instanceId: null, stateReason: reason.slice(0, 500) })
          .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'attaching')));
        await event('volume-attach-failed', `Volume “${vol.name}” was not attached: ${reason}`);
      };
      if (inst.state !== 'running' && inst.state !== 'stopped') return refuse(`${inst.name} is ${inst.state}.`);
      try {
        const pool = pools(poolRow);
        await driver.attachVolume(inst.id, { id: vol.id, source: pool.source(vol.id), limits: limitsOf(vol) });
      } catch (err) {
        if (!lastAttempt) throw err;
        // Whatever the driver did of it is undone, so the database and the guest agree.
        await driver.detachVolume(inst.id, vol.id, { timeoutMs: 5_000 }).catch(() => undefined);
        return refuse(`attaching failed: ${reasonOf(err)}`);
      }
      const [moved] = await db
        .update(volumes)
        .set({ state: 'in-use', attachedAt: sql`now()`, stateReason: null })
        .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'attaching')))
        .returning({ id: volumes.id });
      if (moved) await event('volume-attached', `Volume “${vol.name}” (${vol.id}) is attached${inst.state === 'running' ? ': the guest sees a new disk' : ''}.`);
      return;
    }
    case 'volume-detach': {
      if (vol.state !== 'detaching' || vol.instanceId !== inst.id) return;
      try {
        await driver.detachVolume(inst.id, vol.id, { timeoutMs: 30_000 });
      } catch (err) {
        // NOT_FOUND: the guest is gone, and with it the attachment.
        if (!isHypervisorError(err, 'NOT_FOUND')) {
          // INVALID_STATE: the guest (or its saved state) holds the device; it stays attached, and the tenant reads why.
          if (!isHypervisorError(err, 'INVALID_STATE') && !lastAttempt) throw err;
          await db
            .update(volumes)
            .set({ state: 'in-use', stateReason: `Detaching it did not finish: ${reasonOf(err)}` })
            .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'detaching')));
          await event('volume-detach-failed', `Volume “${vol.name}” is still attached: ${reasonOf(err)}`);
          return;
        }
      }
      const [moved] = await db
        .update(volumes)
        .set({ state: 'available', instanceId: null, attachedAt: null, stateReason: null })
        .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'detaching')))
        .returning({ id: volumes.id });
      if (moved) await event('volume-detached', `Volume “${vol.name}” (${vol.id}) is detached.`);
      return;
    }
    case 'volume-create': {
      if (vol.state !== 'creating' || !vol.sourceSnapshotId) return;
      try {
        const pool = pools(poolRow);
        const progress = throttledProgress((p) => db.update(volumes).set({ progress: p }).where(and(eq(volumes.id, vol.id), eq(volumes.state, 'creating'))));
        await driver.exportDisk(inst.id, vol.sourceSnapshotId, pool.source(vol.id), progress);
        const grown = await pool.grow(vol.id, vol.sizeGiB * GiB);
        if (await madeAvailable(db, vol, grown.allocatedBytes)) await event('volume', `Volume “${vol.name}” (${vol.id}) is available, made from snapshot ${vol.sourceSnapshotId}.`);
      } catch (err) {
        if (!lastAttempt) throw err;
        await db
          .update(volumes)
          .set({ state: 'error', progress: null, stateReason: `Copying snapshot ${vol.sourceSnapshotId} failed: ${reasonOf(err)}` })
          .where(and(eq(volumes.id, vol.id), eq(volumes.state, 'creating')));
      }
      return;
    }
  }
}

/** A terminated instance lets go of its volumes (its guest is gone): they are available again, data kept. */
export async function releaseVolumes(db: Db, instanceId: string): Promise<number> {
  const rows = await db
    .update(volumes)
    .set({ state: 'available', instanceId: null, attachedAt: null, stateReason: null })
    .where(and(eq(volumes.instanceId, instanceId), sql`${volumes.state} in ('attaching', 'in-use', 'detaching')`))
    .returning({ id: volumes.id });
  return rows.length;
}

// ---------------------------------------------------------------- the reconciler's part

const ATTACH_RETRY = { attaching: 'volume-attach', detaching: 'volume-detach' } as const;

/** What reconcileVolumes repaired (the reconciler counts them in /metrics). */
export type VolumeRepair = 'volume-job-requeued' | 'volume-unplugged' | 'volume-replugged';

/**
 * Make the database and what the guests of this host have attached agree:
 * a volume left mid-way (its job lost) gets its job again, a volume a guest
 * holds that the database gives to no one is unplugged from it, and one the
 * database has in use that its guest lacks is plugged in again. Returns
 * one entry per repair made.
 */
export async function reconcileVolumes(db: Db, driver: HypervisorDriver, hostId: string, log: (m: string) => void): Promise<VolumeRepair[]> {
  const repairs: VolumeRepair[] = [];
  const { rows: stuck } = await db.execute<{ id: string; state: string; instance_id: string | null }>(sql`
    select v.id, v.state, v.instance_id from volumes v join storage_pools p on p.id = v.pool_id
    where p.host_id = ${hostId} and v.state in ('creating', 'attaching', 'detaching', 'deleting')
      and not exists (select 1 from graphile_worker.jobs j where j.attempts < j.max_attempts
                      and j.queue_name in ('volume:' || v.id, 'instance:' || coalesce(v.instance_id, v.source_instance_id, '')))`);
  for (const v of stuck) {
    if (v.state === 'attaching' || v.state === 'detaching') {
      if (v.instance_id) await enqueueInstanceOp(db, hostId, { instanceId: v.instance_id, op: ATTACH_RETRY[v.state], volumeId: v.id });
    } else if (v.state === 'deleting' || (v.state === 'creating' && !(await sourceOf(db, v.id)))) {
      await enqueueVolumeOp(db, hostId, { volumeId: v.id, op: v.state === 'deleting' ? 'volume-delete' : 'volume-create' });
    } else {
      const src = (await sourceOf(db, v.id))!;
      await enqueueInstanceOp(db, hostId, { instanceId: src.instanceId, op: 'volume-create', volumeId: v.id, snapshotId: src.snapshotId });
    }
    repairs.push('volume-job-requeued');
  }

  const settled = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.hostId, hostId), inArray(instances.state, ['running', 'stopped'])));
  for (const { id } of settled) {
    const held = await driver.listVolumes(id).catch(() => null);
    if (!held) continue;
    const rows = await db.select({ id: volumes.id, state: volumes.state, name: volumes.name }).from(volumes).where(eq(volumes.instanceId, id));
    const ours = new Map(rows.map((r) => [r.id, r.state]));
    for (const a of held) {
      if (!ours.has(a.id)) {
        log(`[reconciler] unplugging volume ${a.id} from ${id}: the database gives it to no instance there`);
        await driver.detachVolume(id, a.id, { timeoutMs: 5_000 }).then(
          () => repairs.push('volume-unplugged'),
          (err) => log(`[reconciler] ${reasonOf(err)}`),
        );
      }
    }
    for (const r of rows) {
      if (r.state === 'in-use' && !held.some((a) => a.id === r.id)) {
        log(`[reconciler] volume ${r.id} is in use by ${id} but its guest lacks it: attaching it again`);
        await db.transaction(async (tx) => {
          const [moved] = await tx
            .update(volumes)
            .set({ state: 'attaching' })
            .where(and(eq(volumes.id, r.id), eq(volumes.state, 'in-use')))
            .returning({ id: volumes.id });
          if (moved) await enqueueInstanceOp(tx, hostId, { instanceId: id, op: 'volume-attach', volumeId: r.id });
          if (moved) repairs.push('volume-replugged');
        });
      }
    }
  }
  return repairs;
}

async function sourceOf(db: Db, volumeId: string) {
  const [row] = await db.select({ snapshotId: volumes.sourceSnapshotId, instanceId: volumes.sourceInstanceId }).from(volumes).where(eq(volumes.id, volumeId));
  return row?.snapshotId && row.instanceId ? { snapshotId: row.snapshotId, instanceId: row.instanceId } : null;
}
