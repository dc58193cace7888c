import { and, asc, desc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { hosts, instanceEvents, instances } from '../db/schema';
import { containsAny } from '../db/like';
import { DomainError } from '../errors';
import { instanceIdSchema, type ListInput } from './validation';

/** The columns of an instance a tenant sees. */
export const instanceColumns = {
  id: instances.id,
  tenantId: instances.tenantId,
  name: instances.name,
  imageId: instances.imageId,
  vcpus: instances.vcpus,
  memoryMiB: instances.memoryMiB,
  diskGiB: instances.diskGiB,
  nics: instances.nics,
  tags: instances.tags,
  hostId: instances.hostId,
  state: instances.state,
  stateReason: instances.stateReason,
  stateChangedAt: instances.stateChangedAt,
  createdAt: instances.createdAt,
  launchedAt: instances.launchedAt,
  terminatedAt: instances.terminatedAt,
  keyName: instances.keyName,
  savedStateMiB: instances.savedStateMiB,
  progress: instances.progress,
  cloneOfInstanceId: instances.cloneOfInstanceId,
  cloneOfSnapshotId: instances.cloneOfSnapshotId,
  cloneLinked: instances.cloneLinked,
  maxVcpus: instances.maxVcpus,
  maxMemoryMiB: instances.maxMemoryMiB,
  spreadGroup: instances.spreadGroup,
  autoRecover: instances.autoRecover,
};
const withHost = { ...instanceColumns, hostName: hosts.name };

export type Instance = { [K in keyof typeof instanceColumns]: (typeof instances.$inferSelect)[K] } & { hostName: string | null };

/** Every tenant query starts here: a forgotten tenant filter cannot be written by accident. */
export const ofTenant = (tenantId: string, ...conds: (SQL | undefined)[]) => and(eq(instances.tenantId, tenantId), ...conds);

export async function getInstance(db: DbOrTx, tenantId: string, id: string): Promise<Instance> {
  const [row] = await db.select(withHost).from(instances).leftJoin(hosts, eq(hosts.id, instances.hostId)).where(ofTenant(tenantId, eq(instances.id, id)));
  if (!row) throw new DomainError('NOT_FOUND', `Instance ${id} was not found.`);
  return row;
}

/**
 * Keyset paging after the instance `cursor` (its id), in (key, id) order.
 * The key is read back from the row itself, so the cursor never carries a
 * timestamp rounded to JavaScript's milliseconds (created_at has microseconds).
 * With `tenantId` the cursor row must be that tenant's, so a made-up cursor
 * says nothing of another tenant's instances (admins page across tenants).
 */
export function afterInstance(cursor: string, key: 'created_at' | 'name', direction: 'asc' | 'desc', tenantId?: string): SQL {
  if (!instanceIdSchema.safeParse(cursor).success) {
    throw new DomainError('INVALID_INPUT', 'That page link is no longer valid; start from the first page.', 'cursor');
  }
  const column = key === 'name' ? instances.name : instances.createdAt;
  return sql`(${column}, ${instances.id}) ${sql.raw(direction === 'asc' ? '>' : '<')} (select c.${sql.raw(key)}, c.id from ${instances} c where c.id = ${cursor}${tenantId ? sql` and c.tenant_id = ${tenantId}` : sql``})`;
}

/** A page of the tenant's instances, keyset-paginated (stable under inserts), filtered and sorted. */
export async function listInstances(db: DbOrTx, tenantId: string, input: ListInput) {
  const conds: (SQL | undefined)[] = [];
  if (input.states?.length) conds.push(inArray(instances.state, input.states));
  else if (!input.includeTerminated) conds.push(ne(instances.state, 'terminated'));
  if (input.name) conds.push(containsAny(input.name, instances.name));
  if (input.tag) {
    conds.push(
      input.tag.value === undefined
        ? sql`${instances.tags} ? ${input.tag.key}`
        : sql`${instances.tags} @> ${JSON.stringify({ [input.tag.key]: input.tag.value })}::jsonb`,
    );
  }
  const key = input.sort === 'name' ? instances.name : instances.createdAt;
  const ascending = input.sort !== 'newest';
  if (input.cursor) conds.push(afterInstance(input.cursor, input.sort === 'name' ? 'name' : 'created_at', ascending ? 'asc' : 'desc', tenantId));
  const order = ascending ? [asc(key), asc(instances.id)] : [desc(key), desc(instances.id)];
  const rows = await db
    .select(withHost)
    .from(instances)
    .leftJoin(hosts, eq(hosts.id, instances.hostId))
    .where(ofTenant(tenantId, ...conds))
    .orderBy(...order)
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? (items[items.length - 1]?.id ?? null) : null };
}

export async function listInstanceEvents(db: DbOrTx, tenantId: string, instanceId: string) {
  await getInstance(db, tenantId, instanceId);
  return db
    .select({
      id: instanceEvents.id,
      at: instanceEvents.at,
      actor: instanceEvents.actorLabel,
      action: instanceEvents.action,
      fromState: instanceEvents.fromState,
      toState: instanceEvents.toState,
      message: instanceEvents.message,
    })
    .from(instanceEvents)
    .where(and(eq(instanceEvents.tenantId, tenantId), eq(instanceEvents.instanceId, instanceId)))
    .orderBy(desc(instanceEvents.at), desc(instanceEvents.id))
    .limit(200);
}
