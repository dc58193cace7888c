import { and, asc, desc, eq, gt, inArray, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { hosts, instanceEvents, instances } from '../db/schema';
import { containsAny } from '../db/like';
import { DomainError } from '../errors';
import type { ListInput } from './validation';

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

type Cursor = { k: string; id: string };
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor;
    if (typeof c.k === 'string' && typeof c.id === 'string') return c;
  } catch {
    /* fall through */
  }
  throw new DomainError('INVALID_INPUT', 'That page link is no longer valid; start from the first page.', 'cursor');
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
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    const k = input.sort === 'name' ? c.k : new Date(c.k);
    const cmp = ascending ? gt : lt;
    conds.push(or(cmp(key, k), and(eq(key, k), cmp(instances.id, c.id))));
  }
  const order = ascending ? [asc(key), asc(instances.id)] : [desc(key), desc(instances.id)];
  const rows = await db
    .select(withHost)
    .from(instances)
    .leftJoin(hosts, eq(hosts.id, instances.hostId))
    .where(ofTenant(tenantId, ...conds))
    .orderBy(...order)
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  const last = items[items.length - 1];
  const nextCursor =
    rows.length > input.limit && last
      ? encodeCursor({ k: input.sort === 'name' ? last.name : last.createdAt.toISOString(), id: last.id })
      : null;
  return { items, nextCursor };
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
