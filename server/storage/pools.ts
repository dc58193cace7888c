// Storage pools in the database: each host has a default directory pool
// under its data dir, registered when its server starts. Its capacity is what
// volumes may be promised from it (checked, under the pool's row lock, in the
// transaction of every allocation); admins may lower or raise it and take a
// pool out of service, never move it.
import { and, asc, desc, eq, ne, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx, Tx } from '../db/client';
import { hosts, instances, storagePools, tenants, volumes } from '../db/schema';
import { DomainError } from '../errors';
import type { StoragePoolBackend } from '../hypervisor/storage';

export const GiB = 1024 ** 3;

export type PoolRow = typeof storagePools.$inferSelect;
/** The backend of a pool row (the host's server opens its own pools only). */
export type PoolOpener = (pool: Pick<PoolRow, 'id' | 'kind' | 'path' | 'hostId'>) => StoragePoolBackend;

/** What volumes (but deleted ones) are promised from a pool, GiB: deleting ones hold their room until their files are gone. */
const allocatedGiB = sql<number>`(select coalesce(sum(v.size_gib), 0)::int from ${volumes} v where v.pool_id = storage_pools.id and v.state <> 'deleted')`;
const volumeCount = sql<number>`(select count(*)::int from ${volumes} v where v.pool_id = storage_pools.id and v.state <> 'deleted')`;

/** The host's default pool: made at its first start (capacity: the backing store's size), kept as the admin set it afterwards. */
export async function ensureHostPool(db: DbOrTx, host: { id: string; name: string }, backend: StoragePoolBackend): Promise<PoolRow> {
  const { totalBytes } = await backend.space();
  await db
    .insert(storagePools)
    .values({ name: `${host.name}-volumes`, kind: backend.kind, hostId: host.id, path: backend.location, capacityBytes: Math.floor(totalBytes / GiB) * GiB })
    .onConflictDoNothing();
  const [row] = await db.select().from(storagePools).where(and(eq(storagePools.hostId, host.id), eq(storagePools.path, backend.location)));
  if (!row) throw new Error(`the storage pool of host ${host.name} at ${backend.location} could not be registered (is the name ${host.name}-volumes taken?)`);
  return row;
}

/**
 * Lock the pools volumes can be made in now (enabled, on a live host; one
 * host's only when `hostId` is given) and pick the one with the most room for
 * `sizeGiB` more. Locked in id order, so concurrent allocations queue instead
 * of deadlocking; none with room → a refusal saying how much there is.
 */
export async function allocateInPool(tx: Tx, sizeGiB: number, hostId?: string): Promise<PoolRow> {
  const where = and(eq(storagePools.enabled, true), hostId ? eq(storagePools.hostId, hostId) : undefined);
  await tx.select({ id: storagePools.id }).from(storagePools).where(where).orderBy(asc(storagePools.id)).for('update');
  // Read after the locks, in a statement of its own: its snapshot sees what the allocations we waited for committed.
  const rows = await tx
    .select({ pool: storagePools, allocatedGiB, hostState: hosts.state })
    .from(storagePools)
    .innerJoin(hosts, eq(hosts.id, storagePools.hostId))
    .where(where)
    .orderBy(asc(storagePools.id));
  const usable = rows.filter((r) => r.hostState === 'enabled');
  if (usable.length === 0) {
    throw new DomainError('INSUFFICIENT_CAPACITY', hostId ? 'The host of that instance has no storage pool in service.' : 'No storage pool is in service: ask an administrator.');
  }
  const room = (r: (typeof usable)[number]) => Math.floor(r.pool.capacityBytes / GiB) - r.allocatedGiB;
  const best = usable.reduce((a, b) => (room(b) > room(a) ? b : a));
  if (room(best) < sizeGiB) {
    throw new DomainError('INSUFFICIENT_CAPACITY', `Not enough storage: ${sizeGiB} GiB asked, ${Math.max(0, room(best))} GiB free in the largest pool. Try a smaller volume, or ask an administrator.`, 'sizeGiB');
  }
  return best.pool;
}

// ---------------------------------------------------------------- admin

/** Every pool with what it has promised and holds. */
export async function listPoolsForAdmin(db: DbOrTx) {
  return db
    .select({
      id: storagePools.id,
      name: storagePools.name,
      kind: storagePools.kind,
      path: storagePools.path,
      hostId: storagePools.hostId,
      hostName: hosts.name,
      hostState: hosts.state,
      capacityBytes: storagePools.capacityBytes,
      enabled: storagePools.enabled,
      allocatedGiB,
      volumes: volumeCount,
      usedBytes: sql<number>`(select coalesce(sum(v.allocated_bytes), 0)::float8 from ${volumes} v where v.pool_id = storage_pools.id and v.state <> 'deleted')`,
      createdAt: storagePools.createdAt,
    })
    .from(storagePools)
    .innerJoin(hosts, eq(hosts.id, storagePools.hostId))
    .orderBy(asc(hosts.name), asc(storagePools.name));
}

export const poolVolumesInput = z.object({
  poolId: z.uuid('That is not a storage pool id.'),
  cursor: z.string().regex(/^vol-[0-9a-f]{17}$/, 'That page cursor is not valid.').nullish(),
  limit: z.int().min(1).max(100).default(50),
});

/** A pool's volumes (but deleted ones), newest first, a page at a time, with their tenants and instances. */
export async function listPoolVolumesForAdmin(db: DbOrTx, input: z.infer<typeof poolVolumesInput>) {
  const after: SQL | undefined = input.cursor
    ? sql`(${volumes.createdAt}, ${volumes.id}) < (select v.created_at, v.id from volumes v where v.id = ${input.cursor})`
    : undefined;
  const rows = await db
    .select({
      id: volumes.id,
      name: volumes.name,
      tenantId: volumes.tenantId,
      tenantName: tenants.name,
      sizeGiB: volumes.sizeGiB,
      allocatedBytes: volumes.allocatedBytes,
      iops: volumes.iops,
      mbps: volumes.mbps,
      state: volumes.state,
      instanceId: volumes.instanceId,
      instanceName: instances.name,
      createdAt: volumes.createdAt,
    })
    .from(volumes)
    .innerJoin(tenants, eq(tenants.id, volumes.tenantId))
    .leftJoin(instances, eq(instances.id, volumes.instanceId))
    .where(and(eq(volumes.poolId, input.poolId), ne(volumes.state, 'deleted'), after))
    .orderBy(desc(volumes.createdAt), desc(volumes.id))
    .limit(input.limit + 1);
  return { items: rows.slice(0, input.limit), nextCursor: rows.length > input.limit ? rows[input.limit - 1]!.id : null };
}

export const updatePoolInput = z
  .object({
    poolId: z.uuid('That is not a storage pool id.'),
    capacityGiB: z.int('Capacity is a whole number of GiB.').min(1, 'A pool holds at least 1 GiB.').max(1024 * 1024 * 64, 'At most 64 PiB.').optional(),
    enabled: z.boolean().optional(),
  })
  .refine((v) => v.capacityGiB !== undefined || v.enabled !== undefined, 'Change the capacity or whether the pool is in service.');

export async function updatePool(db: DbOrTx, actor: Actor, input: z.infer<typeof updatePoolInput>) {
  return db.transaction(async (tx) => {
    await tx.select({ id: storagePools.id }).from(storagePools).where(eq(storagePools.id, input.poolId)).for('update');
    const [row] = await tx.select({ pool: storagePools, allocatedGiB }).from(storagePools).where(eq(storagePools.id, input.poolId));
    if (!row) throw new DomainError('NOT_FOUND', 'That storage pool was not found.');
    if (input.capacityGiB !== undefined && input.capacityGiB < row.allocatedGiB) {
      throw new DomainError('CONFLICT', `Its volumes already take ${row.allocatedGiB} GiB: the capacity cannot be less.`, 'capacityGiB');
    }
    const set = {
      ...(input.capacityGiB !== undefined ? { capacityBytes: input.capacityGiB * GiB } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    };
    await tx.update(storagePools).set(set).where(eq(storagePools.id, row.pool.id));
    await recordAudit(tx, actor, { action: 'storage-pool.update', tenantId: null, target: { type: 'storage-pool', id: row.pool.id }, detail: { ...input } });
    return { id: row.pool.id, ...set };
  });
}
