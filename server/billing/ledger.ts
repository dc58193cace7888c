import { and, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { usageSegments } from '../db/schema';
import type { InstanceState } from '../instances/can';
import type { BilledResource } from './resources';

type Resource = BilledResource;
export type MeteredInstance = {
  id: string;
  tenantId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  nics: number;
  /** The sum of its live NICs' rates (Mbit/s). */
  bandwidthMbit: number;
  portForwards: number;
  /** The size of its saved running state, MiB (null: none). */
  savedStateMiB: number | null;
};

/** Used while the instance runs. */
const COMPUTE: Resource[] = ['vcpu', 'memory_mib', 'bandwidth_mbit'];
/** Held from launch until terminate is accepted. */
const STORAGE: Resource[] = ['disk_gib', 'nic'];
/** Held while they exist (opened and resized by their own changes, closed at terminate). */
const HELD: Resource[] = ['port_forward', 'snapshot_mib'];
/** Held while a suspended instance's state file exists: from the end of the save until it is loaded back or discarded. */
const SAVED: Resource[] = ['saved_state_mib'];
const SAVED_IN: readonly (InstanceState | null)[] = ['suspended', 'resuming'];
const GONE: readonly (InstanceState | null)[] = ['terminating', 'terminated'];

const quantity = (i: MeteredInstance, r: Resource) =>
  ({ vcpu: i.vcpus, memory_mib: i.memoryMiB, disk_gib: i.diskGiB, nic: i.nics, bandwidth_mbit: i.bandwidthMbit, port_forward: i.portForwards, saved_state_mib: i.savedStateMiB ?? 0, snapshot_mib: 0, image_mib: 0, volume_gib: 0, volume_iops: 0, volume_mbps: 0 })[r]; // snapshots (and images and volumes, not an instance's) are sized by their own changes (resizeUsage)

/** The insert that opens `resources` for `inst` now, or null when it holds none of them. */
function opening(db: DbOrTx, inst: MeteredInstance, resources: Resource[]): SQL | null {
  const rows = resources
    .map((resource) => ({ tenantId: inst.tenantId, instanceId: inst.id, resource, quantity: quantity(inst, resource), startedAt: sql`now()` }))
    .filter((r) => r.quantity > 0); // nothing held, nothing metered (an instance without NICs has no rate)
  if (rows.length === 0) return null;
  return db.insert(usageSegments).values(rows).onConflictDoNothing().getSQL(); // already open (a retried transition): keep the first start
}

async function open(db: DbOrTx, inst: MeteredInstance, resources: Resource[]) {
  const q = opening(db, inst, resources);
  if (q) await db.execute(q);
}

/**
 * The insert that opens a new instance's segments (meterTransition from null
 * to pending: its disk and NICs), for its caller to run with its other writes
 * in one statement (writeTogether); null when it holds nothing metered.
 */
export const openingSegments = (db: DbOrTx, inst: MeteredInstance): SQL | null => opening(db, inst, STORAGE);

async function close(db: DbOrTx, instanceId: string, resources: Resource[]) {
  await db
    .update(usageSegments)
    .set({ endedAt: sql`now()` })
    .where(and(eq(usageSegments.instanceId, instanceId), inArray(usageSegments.resource, resources), isNull(usageSegments.endedAt)));
}

/**
 * Open and close usage segments for a state change, inside its transaction:
 * vCPU, memory and NIC rates are used while the instance runs; disk and NICs
 * from launch until terminate is accepted; port forwards until then too; a
 * saved state while the instance is suspended (and being resumed from it).
 * `from` is null for the launch itself.
 */
export async function meterTransition(db: DbOrTx, inst: MeteredInstance, from: InstanceState | null, to: InstanceState): Promise<void> {
  const wasRunning = from === 'running';
  const isRunning = to === 'running';
  if (!wasRunning && isRunning) await open(db, inst, COMPUTE);
  if (wasRunning && !isRunning) await close(db, inst.id, COMPUTE);
  if (!SAVED_IN.includes(from) && SAVED_IN.includes(to)) await open(db, inst, SAVED);
  if (SAVED_IN.includes(from) && !SAVED_IN.includes(to)) await close(db, inst.id, SAVED);
  const existed = from !== null && !GONE.includes(from);
  const exists = !GONE.includes(to);
  if (from === null && exists) await open(db, inst, STORAGE); // openingSegments
  if (existed && !exists) await close(db, inst.id, [...COMPUTE, ...STORAGE, ...HELD, ...SAVED]);
}

/**
 * A held quantity changed (a NIC's rate on a running instance, the number of
 * port forwards): the open segment ends now and one with the new quantity
 * starts now, in the caller's transaction, so each quantity is billed for
 * exactly the seconds it was in force. `inUse` false: nothing is open now (a
 * stopped instance's rate) and nothing opens.
 */
export async function resizeUsage(db: DbOrTx, inst: { id: string; tenantId: string }, resource: Resource, newQuantity: number, inUse = true): Promise<void> {
  const [current] = await db
    .select({ quantity: usageSegments.quantity })
    .from(usageSegments)
    .where(and(eq(usageSegments.instanceId, inst.id), eq(usageSegments.resource, resource), isNull(usageSegments.endedAt)));
  if (current?.quantity === newQuantity && inUse) return;
  await close(db, inst.id, [resource]);
  if (inUse && newQuantity > 0) {
    await db.insert(usageSegments).values({ tenantId: inst.tenantId, instanceId: inst.id, resource, quantity: newQuantity, startedAt: sql`now()` });
  }
}

/**
 * Move every open segment's billed_through up to the last UTC midnight: the
 * ledger's triggers add its complete days to usage_daily and the day totals in
 * the same statement, so invoices and daily costs price only the rest live.
 * Idempotent, and replayable at any time (it only moves forward); the compute
 * loop runs it. It yields to the ledger's own writers: segments locked now are
 * left for the next run, and a wait of more than a moment on a sum row gives up
 * (nothing is written; the next run does it). Returns how many segments moved.
 */
export async function checkpointOpenUsage(db: DbOrTx): Promise<number> {
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(sql`set local lock_timeout = '200ms'`);
      const { rowCount } = await tx.execute(sql`
        update usage_segments set billed_through = date_trunc('day', now(), 'UTC')
        where id in (
          select id from usage_segments
          where ended_at is null and started_at < date_trunc('day', now(), 'UTC')
            and (billed_through is null or billed_through < date_trunc('day', now(), 'UTC'))
          for update skip locked)`);
      return rowCount ?? 0;
    });
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === '55P03' || (e as { code?: string }).code === '55P03') return 0; // lock_not_available
    throw e;
  }
}
