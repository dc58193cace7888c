// Tenant networks: list, get, create, delete, and the default one every
// tenant has. Each change is one transaction under the tenant's quota lock,
// audited, with the host network syncs it needs enqueued in it.
import { and, asc, eq, isNull, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx, Tx } from '../db/client';
import { outer } from '../db/outer';
import { violates } from '../db/pg-errors';
import { instances, networkHosts, networkInterfaces, networks } from '../db/schema';
import { DomainError } from '../errors';
import { enqueueNetworkSync } from '../jobs';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { formatCidr, formatIp4, gatewayOf, ip4, overlaps, parseCidr, proposeCidr, usableAddresses, type Ipv4Cidr } from './cidr';
import { networkCan } from './can';
import type { CreateNetworkInput } from './validation';

/** The columns of a network a tenant sees. */
export const networkColumns = {
  id: networks.id,
  tenantId: networks.tenantId,
  name: networks.name,
  cidr: networks.cidr,
  gateway: sql<string>`host(${networks.gateway})`.as('gateway'),
  isDefault: networks.isDefault,
  vxlanId: networks.vxlanId,
  createdAt: networks.createdAt,
};

/** Every tenant network query starts here: live networks of one tenant. */
export const liveNetworkOf = (tenantId: string | Placeholder, ...conds: (SQL | undefined)[]) =>
  and(eq(networks.tenantId, tenantId), isNull(networks.deletedAt), ...conds);

// outer(): in these one-table selects a bare networks.id is written "id", which inside the subquery would mean the NIC's own id (and count nothing).
const liveNics = sql<number>`(select count(*)::int from ${networkInterfaces} x where x.network_id = ${outer(networks.id)} and x.released_at is null)`;

export type NetworkRow = Awaited<ReturnType<typeof listNetworks>>[number];

/** A tenant's networks with their address use (a tenant has a handful: no paging). */
export async function listNetworks(db: DbOrTx, tenantId: string) {
  const rows = await db
    .select({ ...networkColumns, addressesUsed: liveNics })
    .from(networks)
    .where(liveNetworkOf(tenantId))
    .orderBy(sql`${networks.isDefault} desc`, asc(networks.name));
  return rows.map((r) => ({ ...r, addressesTotal: usableAddresses(parseCidr(r.cidr)) }));
}

/** One network and the instances whose NICs are on it. */
export async function getNetwork(db: DbOrTx, tenantId: string, networkId: string) {
  const [row] = await db
    .select({ ...networkColumns, addressesUsed: liveNics })
    .from(networks)
    .where(liveNetworkOf(tenantId, eq(networks.id, networkId)));
  if (!row) throw new DomainError('NOT_FOUND', `Network ${networkId} was not found.`);
  const attached = await attachedInstances(db, tenantId, networkId);
  return { ...row, addressesTotal: usableAddresses(parseCidr(row.cidr)), attached };
}

async function attachedInstances(db: DbOrTx, tenantId: string, networkId: string) {
  return db
    .select({ instanceId: instances.id, name: instances.name, state: instances.state, address: sql<string>`host(${networkInterfaces.address})` })
    .from(networkInterfaces)
    .innerJoin(instances, eq(instances.id, networkInterfaces.instanceId))
    .where(and(eq(networkInterfaces.tenantId, tenantId), eq(networkInterfaces.networkId, networkId), isNull(networkInterfaces.releasedAt)))
    .orderBy(asc(networkInterfaces.address));
}

async function liveCidrs(tx: DbOrTx, tenantId: string): Promise<{ name: string; cidr: Ipv4Cidr }[]> {
  const rows = await tx.select({ name: networks.name, cidr: networks.cidr }).from(networks).where(liveNetworkOf(tenantId));
  return rows.map((r) => ({ name: r.name, cidr: parseCidr(r.cidr) }));
}

/** The first free /24 of 10.0.0.0/8 for this tenant (what the create form proposes). */
export async function proposeNetworkCidr(db: DbOrTx, tenantId: string): Promise<string | null> {
  const free = proposeCidr((await liveCidrs(db, tenantId)).map((n) => n.cidr));
  return free ? formatCidr(free) : null;
}

async function insertNetwork(tx: Tx, actor: Actor | null, tenantId: string, name: string, cidr: Ipv4Cidr, isDefault: boolean) {
  const [row] = await tx
    .insert(networks)
    .values({
      tenantId,
      name,
      cidr: formatCidr(cidr),
      gateway: formatIp4(gatewayOf(cidr)),
      isDefault,
      createdBy: actor?.kind === 'user' ? actor.userId : null,
    })
    .returning({ id: networks.id });
  return row!.id;
}

export async function createNetwork(db: DbOrTx, actor: Actor, tenantId: string, input: CreateNetworkInput) {
  try {
    return await db.transaction(async (tx) => {
      const limits = await lockTenantQuota(tx, tenantId);
      checkQuota(limits, await tenantUsage(tx, tenantId), { networks: 1 }, 'this network', { networks: 'name' });
      const existing = await liveCidrs(tx, tenantId);
      if (existing.some((n) => n.name.toLowerCase() === input.name.toLowerCase())) {
        throw new DomainError('CONFLICT', `A network named “${input.name}” already exists.`, 'name');
      }
      let cidr: Ipv4Cidr;
      if (input.cidr) {
        cidr = parseCidr(input.cidr);
        const clash = existing.find((n) => overlaps(n.cidr, cidr));
        if (clash) {
          throw new DomainError('CONFLICT', `${formatCidr(cidr)} overlaps “${clash.name}” (${formatCidr(clash.cidr)}); a tenant’s networks cannot share addresses.`, 'cidr');
        }
      } else {
        const free = proposeCidr(existing.map((n) => n.cidr));
        if (!free) throw new DomainError('INVALID_INPUT', 'No free /24 is left in 10.0.0.0/8; choose a range.', 'cidr');
        cidr = free;
      }
      const id = await insertNetwork(tx, actor, tenantId, input.name, cidr, false);
      await recordAudit(tx, actor, { action: 'network.create', tenantId, target: { type: 'network', id }, detail: { name: input.name, cidr: formatCidr(cidr) } });
      return getNetwork(tx, tenantId, id);
    });
  } catch (err) {
    // Two creates at once: the constraints settle it, the loser hears why.
    if (violates(err, 'networks_no_overlap')) throw new DomainError('CONFLICT', `${input.cidr ?? 'The proposed range'} overlaps another of this tenant’s networks; try again.`, 'cidr');
    if (violates(err, 'networks_tenant_name_key')) throw new DomainError('CONFLICT', `A network named “${input.name}” already exists.`, 'name');
    throw err;
  }
}

/** Delete a network without NICs on it (the default network stays). Its hosts take it down on their next sync. */
export async function deleteNetwork(db: DbOrTx, actor: Actor, tenantId: string, networkId: string) {
  return db.transaction(async (tx) => {
    const [net] = await tx
      .select({ id: networks.id, name: networks.name, cidr: networks.cidr, isDefault: networks.isDefault })
      .from(networks)
      .where(liveNetworkOf(tenantId, eq(networks.id, networkId)))
      .for('update');
    if (!net) throw new DomainError('NOT_FOUND', `Network ${networkId} was not found.`);
    const why = networkCan.delete(net);
    if (why) throw new DomainError('INVALID_STATE', why);
    const attached = await attachedInstances(tx, tenantId, networkId);
    if (attached.length > 0) {
      const names = attached.slice(0, 5).map((a) => `${a.name} (${a.instanceId})`);
      const more = attached.length > 5 ? ` and ${attached.length - 5} more` : '';
      throw new DomainError(
        'INVALID_STATE',
        `“${net.name}” still has ${attached.length} network interface${attached.length === 1 ? '' : 's'} attached: ${names.join(', ')}${more}. Terminate ${attached.length === 1 ? 'it' : 'them'} first.`,
      );
    }
    await tx.update(networks).set({ deletedAt: sql`now()` }).where(eq(networks.id, networkId));
    const hostsOf = await tx.select({ hostId: networkHosts.hostId }).from(networkHosts).where(eq(networkHosts.networkId, networkId));
    for (const h of hostsOf) await enqueueNetworkSync(tx, h.hostId);
    await recordAudit(tx, actor, { action: 'network.delete', tenantId, target: { type: 'network', id: networkId }, detail: { name: net.name, cidr: net.cidr } });
  });
}

/**
 * The tenant's default network, created when missing (a tenant made before
 * networks existed, in the caller's transaction): 10.0.0.0/24, or the first
 * free /24 if the tenant already uses that range.
 */
export async function ensureDefaultNetwork(tx: Tx, tenantId: string): Promise<string> {
  const [found] = await tx.select({ id: networks.id }).from(networks).where(liveNetworkOf(tenantId, eq(networks.isDefault, true)));
  if (found) return found.id;
  const existing = await liveCidrs(tx, tenantId);
  const preferred = { network: ip4('10.0.0.0'), prefix: 24 };
  const cidr = existing.some((n) => overlaps(n.cidr, preferred)) ? proposeCidr(existing.map((n) => n.cidr)) : preferred;
  if (!cidr) throw new DomainError('INVALID_STATE', 'This tenant has no default network and no free range for one.');
  const name = existing.some((n) => n.name.toLowerCase() === 'default') ? `default-${existing.length + 1}` : 'default';
  return insertNetwork(tx, null, tenantId, name, cidr, true);
}
