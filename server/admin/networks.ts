import { and, desc, eq, ilike, isNull, or, sql } from 'drizzle-orm';
import type { Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { containsAny, escapeLike } from '../db/like';
import { outer } from '../db/outer';
import { networkHosts, networkInterfaces, networks, portForwards, tenants } from '../db/schema';
import { DomainError } from '../errors';
import { parseCidr, usableAddresses } from '../network/cidr';
import { getSetting, setSetting, type PortRange } from '../settings';

/**
 * Every tenant's live networks for admins, newest first (keyset-paged: the
 * cursor is the last network's id, its position read back from its row), searched by
 * network name, CIDR or tenant: with address use, hosts realising each, and
 * its VXLAN id.
 */
export async function listAllNetworks(db: DbOrTx, input: { search?: string; cursor?: string | null; limit: number }) {
  const conds = [isNull(networks.deletedAt)];
  if (input.search) {
    // A CIDR is searched by its text ("10.0.", "/24"); names and tenants by substring.
    conds.push(or(containsAny(input.search, networks.name, tenants.name, tenants.slug), ilike(sql`${networks.cidr}::text`, `%${escapeLike(input.search)}%`))!);
  }
  if (input.cursor) {
    conds.push(sql`(${networks.createdAt}, ${networks.id}) < (select c.created_at, c.id from ${networks} c where c.id = ${input.cursor})`);
  }
  const rows = await db
    .select({
      id: networks.id,
      name: networks.name,
      cidr: networks.cidr,
      gateway: sql<string>`host(${networks.gateway})`,
      isDefault: networks.isDefault,
      vxlanId: networks.vxlanId,
      createdAt: networks.createdAt,
      tenantId: tenants.id,
      tenantName: tenants.name,
      tenantSlug: tenants.slug,
      addressesUsed: sql<number>`(select count(*)::int from ${networkInterfaces} x where x.network_id = ${outer(networks.id)} and x.released_at is null)`,
      hosts: sql<number>`(select count(*)::int from ${networkHosts} h where h.network_id = ${outer(networks.id)})`,
    })
    .from(networks)
    .innerJoin(tenants, eq(tenants.id, networks.tenantId))
    .where(and(...conds))
    .orderBy(desc(networks.createdAt), desc(networks.id))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit).map((r) => ({ ...r, addressesTotal: usableAddresses(parseCidr(r.cidr)) }));
  return { items, nextCursor: rows.length > input.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** The range port forwards are allocated from, and how many forwards exist (and how many fall outside it). */
export async function getPortForwardRange(db: DbOrTx) {
  const range = await getSetting(db, 'portForwardRange');
  const [row] = await db
    .select({
      total: sql<number>`count(*)::int`,
      outside: sql<number>`count(*) filter (where ${portForwards.hostPort} not between ${range.from} and ${range.to})::int`,
    })
    .from(portForwards);
  return { ...range, forwards: row?.total ?? 0, outside: row?.outside ?? 0 };
}

/** Change the range for new port forwards; existing ones keep their ports (and keep working). */
export async function setPortForwardRange(db: DbOrTx, actor: Actor, range: PortRange) {
  if (range.to < range.from) throw new DomainError('INVALID_INPUT', 'The range ends before it starts.', 'to');
  await setSetting(db, actor, 'portForwardRange', range); // audited there, as every setting
  return getPortForwardRange(db);
}
