// Snapshots of an instance (its disk, and with memory its running state):
// requests checked under the tenant's and the instance's locks, carried out
// by a job in the instance's own queue (so they never overlap its start,
// stop or another snapshot), and billed by the bytes their files really take.
//
// 1. Reading · 2. Requests (take, restore, delete) · 3. The ledger.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import { resizeUsage } from '../billing/ledger';
import type { DbOrTx, Tx } from '../db/client';
import { violates } from '../db/pg-errors';
import { snapshots, volumes } from '../db/schema';
import { DomainError } from '../errors';
import { enqueueInstanceOp } from '../jobs';
import { restoreWhyNot, snapshotSizeWhyNot, snapshotWhyNot } from '../instances/can';
import { refuseWhileCloning } from '../instances/clone';
import { getInstance } from '../instances/queries';
import { recordInstanceEvent, transition } from '../instances/transition';
import { checkQuota, lockTenantQuota, NOT_COUNTED, tenantUsage } from '../quotas';
import { newSnapshotId } from './ids';
import type { CreateSnapshotInput } from './validation';

const MiB = 1024 * 1024;

/** The columns of a snapshot a tenant sees. */
export const snapshotColumns = {
  id: snapshots.id,
  tenantId: snapshots.tenantId,
  instanceId: snapshots.instanceId,
  name: snapshots.name,
  withMemory: snapshots.withMemory,
  vcpus: snapshots.vcpus,
  memoryMiB: snapshots.memoryMiB,
  state: snapshots.state,
  stateReason: snapshots.stateReason,
  diskBytes: snapshots.diskBytes,
  stateBytes: snapshots.stateBytes,
  progress: snapshots.progress,
  createdAt: snapshots.createdAt,
};

// ---------------------------------------------------------------- 1. reading

/** An instance's snapshots, newest first (their number is bounded by the tenant's snapshot quota). */
export async function listSnapshots(db: DbOrTx, tenantId: string, instanceId: string) {
  await getInstance(db, tenantId, instanceId); // NOT_FOUND for another tenant's instance
  return db
    .select(snapshotColumns)
    .from(snapshots)
    .where(and(eq(snapshots.tenantId, tenantId), eq(snapshots.instanceId, instanceId)))
    .orderBy(desc(snapshots.createdAt), desc(snapshots.id));
}

async function lockedSnapshot(tx: Tx, tenantId: string, snapshotId: string) {
  const [row] = await tx
    .select(snapshotColumns)
    .from(snapshots)
    .where(and(eq(snapshots.tenantId, tenantId), eq(snapshots.id, snapshotId)))
    .for('update');
  if (!row) throw new DomainError('NOT_FOUND', `Snapshot ${snapshotId} was not found.`);
  return row;
}

// ---------------------------------------------------------------- 2. requests

/**
 * A memory snapshot holds the root disk and the running state, not the
 * volumes a guest has attached: brought back, the guest's idea of those disks
 * and their contents would disagree. Refused while any is attached.
 */
async function refuseWithVolumes(tx: Tx, inst: { id: string; name: string }, what: string) {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(volumes)
    .where(and(eq(volumes.instanceId, inst.id), inArray(volumes.state, ['attaching', 'in-use', 'detaching'])));
  if (row && row.n > 0) {
    throw new DomainError('INVALID_STATE', `${inst.name} has ${row.n === 1 ? 'a volume' : `${row.n} volumes`} attached: detach ${row.n === 1 ? 'it' : 'them'} to ${what} (a memory snapshot holds the root disk only, and the guest's state would not match the volumes).`, 'withMemory');
  }
}

/** Take a snapshot: checked (state, name, quota) and queued in one transaction. */
export async function requestSnapshot(db: DbOrTx, actor: Actor, tenantId: string, input: CreateSnapshotInput) {
  return db.transaction(async (tx) => {
    const limits = await lockTenantQuota(tx, tenantId);
    await tx.execute(sql`select 1 from instances where id = ${input.instanceId} and tenant_id = ${tenantId} for update`);
    const inst = await getInstance(tx, tenantId, input.instanceId);
    const why = snapshotWhyNot(inst.state, input.withMemory);
    if (why) throw new DomainError('INVALID_STATE', `${inst.name} (${inst.id}): ${why}`, input.withMemory ? 'withMemory' : undefined);
    if (input.withMemory) await refuseWithVolumes(tx, inst, 'take a snapshot with memory');
    const usage = await tenantUsage(tx, tenantId);
    // Its size is known once taken: with memory it can be as large as the guest's RAM.
    checkQuota(limits, usage, { snapshots: 1, snapshotGiB: input.withMemory ? Math.ceil(inst.memoryMiB / 1024) : 0 }, 'this snapshot', { snapshots: 'name' });
    if (usage.snapshotGiB >= limits.snapshotGiB) {
      throw new DomainError('QUOTA_EXCEEDED', `Snapshot storage quota exceeded: the tenant's snapshots use ${usage.snapshotGiB} GiB of its ${limits.snapshotGiB} GiB limit. Delete a snapshot first.`);
    }
    const id = newSnapshotId();
    try {
      await tx.insert(snapshots).values({
        id,
        tenantId,
        instanceId: inst.id,
        name: input.name,
        withMemory: input.withMemory,
        vcpus: inst.vcpus,
        memoryMiB: inst.memoryMiB,
        createdBy: actor.kind === 'user' ? actor.userId : null,
      });
    } catch (err) {
      if (violates(err, 'snapshots_instance_name_key')) throw new DomainError('CONFLICT', `${inst.name} already has a snapshot named “${input.name}”.`, 'name');
      throw err;
    }
    const what = input.withMemory ? 'with memory' : 'of its disk';
    await recordInstanceEvent(tx, actor, { instanceId: inst.id, tenantId, action: 'snapshot', message: `Snapshot “${input.name}” (${what}) requested.` });
    await recordAudit(tx, actor, { action: 'snapshot.create', tenantId, target: { type: 'snapshot', id }, detail: { instanceId: inst.id, withMemory: input.withMemory } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'snapshot-create', snapshotId: id });
    const [row] = await tx.select(snapshotColumns).from(snapshots).where(eq(snapshots.id, id));
    return row!;
  });
}

/** Put the instance back to an available snapshot: it moves to `restoring` until the job is done. */
export async function requestRestore(db: DbOrTx, actor: Actor, tenantId: string, snapshotId: string) {
  return db.transaction(async (tx) => {
    const snap = await lockedSnapshot(tx, tenantId, snapshotId);
    await tx.execute(sql`select 1 from instances where id = ${snap.instanceId} for update`);
    const inst = await getInstance(tx, tenantId, snap.instanceId);
    if (snap.state !== 'available') throw new DomainError('INVALID_STATE', `Snapshot “${snap.name}” is ${snap.state}: only an available one can be restored.`);
    const why = restoreWhyNot(inst.state, snap.withMemory);
    if (why) throw new DomainError('INVALID_STATE', `${inst.name} (${inst.id}): ${why}`);
    // Its memory is of a machine of that size: it loads into no other.
    const size = snapshotSizeWhyNot(snap, inst);
    if (size) throw new DomainError('INVALID_STATE', size);
    if (snap.withMemory) await refuseWithVolumes(tx, inst, 'restore a snapshot with memory');
    await refuseWhileCloning(tx, inst, 'restore it');
    // A memory snapshot brings a stopped instance back running: that is a start, held to the budget like one.
    if (snap.withMemory && inst.state !== 'running') await assertWithinBudget(tx, tenantId);
    await tx.update(snapshots).set({ state: 'restoring', stateReason: null }).where(eq(snapshots.id, snap.id));
    await transition(tx, actor, inst.id, {
      from: [inst.state],
      to: 'restoring',
      action: 'restore',
      message: `Restore to snapshot “${snap.name}” requested${snap.withMemory ? ' (with memory: it comes back running where it was)' : ''}.`,
    });
    await recordAudit(tx, actor, { action: 'snapshot.restore', tenantId, target: { type: 'snapshot', id: snap.id }, detail: { instanceId: inst.id } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'snapshot-restore', snapshotId: snap.id });
    return getInstance(tx, tenantId, inst.id);
  });
}

/** Delete a snapshot (available, or one that failed); the others stay valid. */
export async function requestDeleteSnapshot(db: DbOrTx, actor: Actor, tenantId: string, snapshotId: string) {
  return db.transaction(async (tx) => {
    const snap = await lockedSnapshot(tx, tenantId, snapshotId);
    if (snap.state !== 'available' && snap.state !== 'error') {
      throw new DomainError('INVALID_STATE', `Snapshot “${snap.name}” is ${snap.state}: wait until it is available.`);
    }
    const inst = await getInstance(tx, tenantId, snap.instanceId);
    await refuseWhileCloning(tx, inst, `delete snapshot “${snap.name}”`, snap.id);
    await tx.update(snapshots).set({ state: 'deleting', stateReason: null }).where(eq(snapshots.id, snap.id));
    await recordInstanceEvent(tx, actor, { instanceId: inst.id, tenantId, action: 'snapshot-delete', message: `Deleting snapshot “${snap.name}” requested.` });
    await recordAudit(tx, actor, { action: 'snapshot.delete', tenantId, target: { type: 'snapshot', id: snap.id }, detail: { instanceId: inst.id } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'snapshot-delete', snapshotId: snap.id });
    return { id: snap.id };
  });
}

// ---------------------------------------------------------------- 3. the ledger

/**
 * Bill an instance's snapshots at what they take now (MiB of their files),
 * from now on; nothing is billed once the instance is gone. In the caller's
 * transaction, with the change that made the size change.
 */
export async function meterSnapshots(db: DbOrTx, inst: { id: string; tenantId: string; state: string }): Promise<void> {
  const [row] = await db
    .select({ bytes: sql<number>`coalesce(sum(${snapshots.diskBytes} + ${snapshots.stateBytes}), 0)::float8` })
    .from(snapshots)
    .where(and(eq(snapshots.instanceId, inst.id), inArray(snapshots.state, ['available', 'restoring', 'deleting', 'error'])));
  const mib = Math.ceil((row?.bytes ?? 0) / MiB);
  await resizeUsage(db, inst, 'snapshot_mib', mib, !NOT_COUNTED.includes(inst.state as (typeof NOT_COUNTED)[number]));
}
