// Block volumes (EBS-like): a tenant's storage that outlives instances.
// Every request is checked (state, quota, budget, the pool's capacity) and
// queued in one transaction; the job makes, plugs, unplugs or removes it and
// moves the state with a compare-and-set. Attaching and detaching run in the
// instance's own queue, so they never overlap its start, stop or snapshot.
//
// 1. Reading · 2. Requests (create, attach, detach, delete) · 3. The ledger.
import { and, desc, eq, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import type { DbOrTx, Tx } from '../db/client';
import { violates } from '../db/pg-errors';
import { instances, snapshots, usageSegments, volumes } from '../db/schema';
import { DomainError } from '../errors';
import type { VolumeLimits } from '../hypervisor';
import { getInstance } from '../instances/queries';
import { recordInstanceEvent } from '../instances/transition';
import { enqueueInstanceOp, enqueueVolumeOp } from '../jobs';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { allocateInPool } from './pools';
import { newVolumeId } from './ids';
import { MAX_VOLUMES_PER_INSTANCE, provisionedIo, VOLUME_ID_RE, type CreateVolumeInput } from './validation';

/** The columns of a volume a tenant sees. */
export const volumeColumns = {
  id: volumes.id,
  tenantId: volumes.tenantId,
  name: volumes.name,
  sizeGiB: volumes.sizeGiB,
  iops: volumes.iops,
  mbps: volumes.mbps,
  state: volumes.state,
  stateReason: volumes.stateReason,
  progress: volumes.progress,
  instanceId: volumes.instanceId,
  instanceName: instances.name,
  sourceSnapshotId: volumes.sourceSnapshotId,
  sourceInstanceId: volumes.sourceInstanceId,
  allocatedBytes: volumes.allocatedBytes,
  createdAt: volumes.createdAt,
  attachedAt: volumes.attachedAt,
};
export type Volume = Awaited<ReturnType<typeof getVolume>>;

/** States in which a volume is plugged into (or being plugged into or out of) its instance. */
export const ATTACHED_STATES = ['attaching', 'in-use', 'detaching'] as const;

/** The I/O ceiling the guest's device gets. */
export const limitsOf = (v: { iops: number; mbps: number }): VolumeLimits => ({ iops: v.iops, bytesPerSecond: v.mbps * 1_000_000 });

// ---------------------------------------------------------------- 1. reading

const live = ne(volumes.state, 'deleted');

export async function getVolume(db: DbOrTx, tenantId: string, volumeId: string) {
  const [row] = await db
    .select(volumeColumns)
    .from(volumes)
    .leftJoin(instances, eq(instances.id, volumes.instanceId))
    .where(and(eq(volumes.tenantId, tenantId), eq(volumes.id, volumeId), live));
  if (!row) throw new DomainError('NOT_FOUND', `Volume ${volumeId} was not found.`);
  return row;
}

/** A tenant's volumes, newest first, a page at a time (`cursor`: the last id of the page before); or one instance's. */
export async function listVolumes(db: DbOrTx, tenantId: string, opts: { cursor?: string | null; limit?: number; instanceId?: string } = {}) {
  const limit = opts.limit ?? 50;
  let after: SQL | undefined;
  if (opts.cursor) {
    if (!VOLUME_ID_RE.test(opts.cursor)) throw new DomainError('INVALID_INPUT', 'That page cursor is not valid.');
    after = sql`(${volumes.createdAt}, ${volumes.id}) < (select v.created_at, v.id from volumes v where v.id = ${opts.cursor} and v.tenant_id = ${tenantId})`;
  }
  const rows = await db
    .select(volumeColumns)
    .from(volumes)
    .leftJoin(instances, eq(instances.id, volumes.instanceId))
    .where(and(eq(volumes.tenantId, tenantId), live, opts.instanceId ? eq(volumes.instanceId, opts.instanceId) : undefined, after))
    .orderBy(desc(volumes.createdAt), desc(volumes.id))
    .limit(limit + 1);
  return { items: rows.slice(0, limit), nextCursor: rows.length > limit ? rows[limit - 1]!.id : null };
}

async function lockedVolume(tx: Tx, tenantId: string, volumeId: string) {
  const [row] = await tx
    .select()
    .from(volumes)
    .where(and(eq(volumes.tenantId, tenantId), eq(volumes.id, volumeId), live))
    .for('update');
  if (!row) throw new DomainError('NOT_FOUND', `Volume ${volumeId} was not found.`);
  return row;
}

async function lockedInstance(tx: Tx, tenantId: string, instanceId: string) {
  await tx.execute(sql`select 1 from instances where id = ${instanceId} and tenant_id = ${tenantId} for update`);
  return getInstance(tx, tenantId, instanceId);
}

const nameTaken = (err: unknown, name: string) =>
  violates(err, 'volumes_tenant_name_key') ? new DomainError('CONFLICT', `A volume named “${name}” already exists.`, 'name') : err;

// ---------------------------------------------------------------- 2. requests

/**
 * Create a volume, blank or from a snapshot (then in the pool of the
 * snapshot's host, at least its instance's disk size): quota, budget and the
 * pool's capacity are checked under their locks, with the row inserted as
 * `creating` and its job queued in the same transaction.
 */
export async function requestCreateVolume(db: DbOrTx, actor: Actor, tenantId: string, input: CreateVolumeInput) {
  return db.transaction(async (tx) => {
    const limits = await lockTenantQuota(tx, tenantId);
    let source: { snapshotId: string; instanceId: string; hostId: string } | null = null;
    let sizeGiB = input.sizeGiB;
    if (input.snapshotId) {
      const [snap] = await tx
        .select({ id: snapshots.id, name: snapshots.name, state: snapshots.state, instanceId: snapshots.instanceId })
        .from(snapshots)
        .where(and(eq(snapshots.tenantId, tenantId), eq(snapshots.id, input.snapshotId)))
        .for('share');
      if (!snap) throw new DomainError('NOT_FOUND', `Snapshot ${input.snapshotId} was not found.`, 'snapshotId');
      if (snap.state !== 'available') throw new DomainError('INVALID_STATE', `Snapshot “${snap.name}” is ${snap.state}: only an available one can be copied.`, 'snapshotId');
      const inst = await lockedInstance(tx, tenantId, snap.instanceId);
      if (!inst.hostId || inst.state === 'terminating' || inst.state === 'terminated') {
        throw new DomainError('INVALID_STATE', `The instance of snapshot “${snap.name}” is ${inst.state}: its snapshots go with it.`, 'snapshotId');
      }
      sizeGiB ??= inst.diskGiB;
      if (sizeGiB < inst.diskGiB) {
        throw new DomainError('INVALID_INPUT', `A volume from snapshot “${snap.name}” holds its ${inst.diskGiB} GiB disk: make it at least ${inst.diskGiB} GiB.`, 'sizeGiB');
      }
      source = { snapshotId: snap.id, instanceId: inst.id, hostId: inst.hostId };
    }
    if (sizeGiB === undefined) throw new DomainError('INVALID_INPUT', 'Give the volume a size (GiB).', 'sizeGiB');
    const usage = await tenantUsage(tx, tenantId);
    checkQuota(limits, usage, { volumes: 1, volumeGiB: sizeGiB }, 'this volume', { volumes: 'name', volumeGiB: 'sizeGiB' });
    await assertWithinBudget(tx, tenantId);
    const pool = await allocateInPool(tx, sizeGiB, source?.hostId);
    const id = newVolumeId();
    try {
      await tx.insert(volumes).values({
        id,
        tenantId,
        name: input.name,
        sizeGiB,
        iops: input.iops,
        mbps: input.mbps,
        poolId: pool.id,
        sourceSnapshotId: source?.snapshotId ?? null,
        sourceInstanceId: source?.instanceId ?? null,
        createdBy: actor.kind === 'user' ? actor.userId : null,
      });
    } catch (err) {
      throw nameTaken(err, input.name);
    }
    await recordAudit(tx, actor, { action: 'volume.create', tenantId, target: { type: 'volume', id }, detail: { sizeGiB, iops: input.iops, mbps: input.mbps, snapshotId: source?.snapshotId ?? null } });
    if (source) {
      await recordInstanceEvent(tx, actor, { instanceId: source.instanceId, tenantId, action: 'volume', message: `Volume “${input.name}” (${id}) is being made from snapshot ${source.snapshotId}.` });
      await enqueueInstanceOp(tx, source.hostId, { instanceId: source.instanceId, op: 'volume-create', volumeId: id, snapshotId: source.snapshotId });
    } else {
      await enqueueVolumeOp(tx, pool.hostId, { volumeId: id, op: 'volume-create' });
    }
    return getVolume(tx, tenantId, id);
  });
}

/** Attach an available volume to a running (hot-plug) or stopped instance of the tenant, on the host of its pool. */
export async function requestAttach(db: DbOrTx, actor: Actor, tenantId: string, input: { volumeId: string; instanceId: string }) {
  return db.transaction(async (tx) => {
    const vol = await lockedVolume(tx, tenantId, input.volumeId);
    const inst = await lockedInstance(tx, tenantId, input.instanceId);
    if (vol.state !== 'available') {
      const where = vol.instanceId ? (vol.instanceId === inst.id ? ` to ${inst.name}` : ' to another instance') : '';
      throw new DomainError('INVALID_STATE', `Volume “${vol.name}” is ${vol.state}${where}: only an available volume can be attached (a volume has one attachment at a time).`, 'volumeId');
    }
    if (inst.state !== 'running' && inst.state !== 'stopped') {
      throw new DomainError('INVALID_STATE', `${inst.name} is ${inst.state}: a volume is attached to a running or stopped instance.`, 'instanceId');
    }
    if (inst.autoRecover) {
      throw new DomainError('INVALID_STATE', `${inst.name} is auto-recover: everything it uses must be on the shared pool, to restart on another host, and volumes are in one host's pool.`, 'instanceId');
    }
    const [pool] = await tx.execute<{ host_id: string }>(sql`select host_id from storage_pools where id = ${vol.poolId}`).then((r) => r.rows);
    if (!pool || pool.host_id !== inst.hostId) {
      throw new DomainError('INVALID_STATE', `Volume “${vol.name}” is stored on another host than ${inst.name}: a volume is attached to instances of its own host.`, 'instanceId');
    }
    const [{ n } = { n: 0 }] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(volumes)
      .where(and(eq(volumes.instanceId, inst.id), inArray(volumes.state, [...ATTACHED_STATES])));
    if (n >= MAX_VOLUMES_PER_INSTANCE) throw new DomainError('INVALID_STATE', `${inst.name} has ${n} volumes attached, the most an instance can have.`, 'instanceId');
    await tx.update(volumes).set({ state: 'attaching', instanceId: inst.id, stateReason: null }).where(eq(volumes.id, vol.id));
    const how = inst.state === 'running' ? 'hot-plugged into the running guest' : 'plugged in at its next start';
    await recordInstanceEvent(tx, actor, { instanceId: inst.id, tenantId, action: 'volume-attach', message: `Attaching volume “${vol.name}” (${vol.id}, ${vol.sizeGiB} GiB): ${how}.` });
    await recordAudit(tx, actor, { action: 'volume.attach', tenantId, target: { type: 'volume', id: vol.id }, detail: { instanceId: inst.id } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'volume-attach', volumeId: vol.id });
    return getVolume(tx, tenantId, vol.id);
  });
}

/** Detach an in-use volume: a running guest is asked to let go of it (and waited for). */
export async function requestDetach(db: DbOrTx, actor: Actor, tenantId: string, input: { volumeId: string }) {
  return db.transaction(async (tx) => {
    const vol = await lockedVolume(tx, tenantId, input.volumeId);
    if (vol.state !== 'in-use' || !vol.instanceId) {
      throw new DomainError('INVALID_STATE', `Volume “${vol.name}” is ${vol.state}: only a volume in use can be detached.`, 'volumeId');
    }
    const inst = await lockedInstance(tx, tenantId, vol.instanceId);
    if (inst.state !== 'running' && inst.state !== 'stopped') {
      throw new DomainError('INVALID_STATE', `${inst.name} is ${inst.state}: a volume is detached from a running or stopped instance${inst.state === 'suspended' ? ' (resume it first, or stop it)' : ''}.`, 'volumeId');
    }
    await tx.update(volumes).set({ state: 'detaching', stateReason: null }).where(eq(volumes.id, vol.id));
    await recordInstanceEvent(tx, actor, { instanceId: inst.id, tenantId, action: 'volume-detach', message: `Detaching volume “${vol.name}” (${vol.id})${inst.state === 'running' ? ': the guest is asked to let go of it' : ''}.` });
    await recordAudit(tx, actor, { action: 'volume.detach', tenantId, target: { type: 'volume', id: vol.id }, detail: { instanceId: inst.id } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'volume-detach', volumeId: vol.id });
    return getVolume(tx, tenantId, vol.id);
  });
}

/** Delete a volume that is attached to nothing; its billing ends now, its data once the job has removed it. */
export async function requestDeleteVolume(db: DbOrTx, actor: Actor, tenantId: string, volumeId: string) {
  return db.transaction(async (tx) => {
    const vol = await lockedVolume(tx, tenantId, volumeId);
    if (vol.instanceId && (ATTACHED_STATES as readonly string[]).includes(vol.state)) {
      throw new DomainError('INVALID_STATE', `Volume “${vol.name}” is attached (${vol.state}): detach it before deleting it.`, 'volumeId');
    }
    if (vol.state !== 'available' && vol.state !== 'error') {
      throw new DomainError('INVALID_STATE', `Volume “${vol.name}” is ${vol.state}: wait until it is available.`, 'volumeId');
    }
    await tx.update(volumes).set({ state: 'deleting', stateReason: null }).where(eq(volumes.id, vol.id));
    await closeVolumeUsage(tx, vol.id);
    await recordAudit(tx, actor, { action: 'volume.delete', tenantId, target: { type: 'volume', id: vol.id }, detail: {} });
    const [pool] = await tx.execute<{ host_id: string }>(sql`select host_id from storage_pools where id = ${vol.poolId}`).then((r) => r.rows);
    await enqueueVolumeOp(tx, pool!.host_id, { volumeId: vol.id, op: 'volume-delete' });
    return { id: vol.id };
  });
}

// ---------------------------------------------------------------- 3. the ledger

/** From now on, bill the volume's size and its I/O above the baseline (in the caller's transaction; a retried job keeps the first start). */
export async function openVolumeUsage(db: DbOrTx, vol: { id: string; tenantId: string; sizeGiB: number; iops: number; mbps: number }): Promise<void> {
  const extra = provisionedIo(vol);
  const rows = [
    { resource: 'volume_gib' as const, quantity: vol.sizeGiB },
    { resource: 'volume_iops' as const, quantity: extra.iops },
    { resource: 'volume_mbps' as const, quantity: extra.mbps },
  ].filter((r) => r.quantity > 0);
  if (rows.length === 0) return;
  await db
    .insert(usageSegments)
    .values(rows.map((r) => ({ tenantId: vol.tenantId, volumeId: vol.id, resource: r.resource, quantity: r.quantity, startedAt: sql`now()` })))
    .onConflictDoNothing();
}

export async function closeVolumeUsage(db: DbOrTx, volumeId: string): Promise<void> {
  await db.update(usageSegments).set({ endedAt: sql`now()` }).where(and(eq(usageSegments.volumeId, volumeId), isNull(usageSegments.endedAt)));
}
