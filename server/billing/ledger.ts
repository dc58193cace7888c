import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { usageSegments } from '../db/schema';
import type { InstanceState } from '../instances/can';

type Resource = (typeof usageSegments.$inferInsert)['resource'];
export type MeteredInstance = { id: string; tenantId: string; vcpus: number; memoryMiB: number; diskGiB: number; nics: number };

const COMPUTE: Resource[] = ['vcpu', 'memory_mib'];
const STORAGE: Resource[] = ['disk_gib', 'nic'];
const GONE: readonly (InstanceState | null)[] = ['terminating', 'terminated'];

const quantity = (i: MeteredInstance, r: Resource) =>
  ({ vcpu: i.vcpus, memory_mib: i.memoryMiB, disk_gib: i.diskGiB, nic: i.nics })[r];

async function open(db: DbOrTx, inst: MeteredInstance, resources: Resource[]) {
  await db
    .insert(usageSegments)
    .values(resources.map((resource) => ({ tenantId: inst.tenantId, instanceId: inst.id, resource, quantity: quantity(inst, resource), startedAt: sql`now()` })))
    .onConflictDoNothing(); // already open (a retried transition): keep the first start
}

async function close(db: DbOrTx, instanceId: string, resources: Resource[]) {
  await db
    .update(usageSegments)
    .set({ endedAt: sql`now()` })
    .where(and(eq(usageSegments.instanceId, instanceId), inArray(usageSegments.resource, resources), isNull(usageSegments.endedAt)));
}

/**
 * Open and close usage segments for a state change, inside its transaction:
 * vCPU and memory are used while the instance runs; disk and NICs from launch
 * until terminate is accepted. `from` is null for the launch itself.
 */
export async function meterTransition(db: DbOrTx, inst: MeteredInstance, from: InstanceState | null, to: InstanceState): Promise<void> {
  const wasRunning = from === 'running';
  const isRunning = to === 'running';
  if (!wasRunning && isRunning) await open(db, inst, COMPUTE);
  if (wasRunning && !isRunning) await close(db, inst.id, COMPUTE);
  const existed = from !== null && !GONE.includes(from);
  const exists = !GONE.includes(to);
  if (from === null && exists) await open(db, inst, STORAGE);
  if (existed && !exists) await close(db, inst.id, [...COMPUTE, ...STORAGE]);
}
