import { and, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { hosts, instances, tenants } from '../db/schema';
import { DomainError } from '../errors';
import { containsAny } from '../db/like';
import { requestInstanceAction } from '../instances/actions';
import { afterInstance } from '../instances/queries';
import type { InstanceState } from '../instances/can';

/** All instances across tenants, newest first, filtered by tenant (id, or name/slug contains), state and name; keyset-paged. */
export async function listAllInstances(
  db: DbOrTx,
  input: { tenantId?: string; tenant?: string; states?: InstanceState[]; name?: string; cursor?: string | null; limit: number },
) {
  const conds: (SQL | undefined)[] = [];
  if (input.tenantId) conds.push(eq(instances.tenantId, input.tenantId));
  if (input.tenant) conds.push(containsAny(input.tenant, tenants.name, tenants.slug));
  if (input.states?.length) conds.push(inArray(instances.state, input.states));
  if (input.name) conds.push(containsAny(input.name, instances.name));
  if (input.cursor) conds.push(afterInstance(input.cursor, 'created_at', 'desc'));
  const rows = await db
    .select({
      id: instances.id,
      name: instances.name,
      state: instances.state,
      stateReason: instances.stateReason,
      vcpus: instances.vcpus,
      memoryMiB: instances.memoryMiB,
      diskGiB: instances.diskGiB,
      nics: instances.nics,
      createdAt: instances.createdAt,
      tenantId: instances.tenantId,
      tenantName: tenants.name,
      tenantSlug: tenants.slug,
      hostId: instances.hostId,
      hostName: hosts.name,
      migrationHostId: instances.migrationHostId,
    })
    .from(instances)
    .innerJoin(tenants, eq(tenants.id, instances.tenantId))
    .leftJoin(hosts, eq(hosts.id, instances.hostId))
    .where(and(...conds))
    .orderBy(desc(instances.createdAt), desc(instances.id))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** An admin stops or terminates any instance; the tenant sees who did it in the instance's history. */
export async function adminInstanceAction(db: DbOrTx, actor: Actor, input: { instanceId: string; force?: boolean }, action: 'stop' | 'terminate') {
  const [inst] = await db.select({ tenantId: instances.tenantId }).from(instances).where(eq(instances.id, input.instanceId));
  if (!inst) throw new DomainError('NOT_FOUND', `Instance ${input.instanceId} was not found.`);
  const who = actor.kind === 'user' ? actor.email : 'Cirrus';
  return requestInstanceAction(db, actor, inst.tenantId, input.instanceId, action, {
    force: input.force,
    message: `${action === 'stop' ? (input.force ? 'Force stop' : 'Stop') : 'Terminate'} requested by administrator ${who}.`,
  });
}
