// An instance's NICs: addresses allocated in PostgreSQL (IPAM) at launch,
// released when its terminate is accepted. The unique (network, address) index
// is what guarantees no two live NICs share an address, whatever runs
// concurrently; the tenant's quota lock, which every launch holds, only keeps
// the losers of that race from being told "try again".
import { and, asc, eq, gte, inArray, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client';
import { executeNamed, prebuilt } from '../db/named';
import { outer } from '../db/outer';
import { hosts, instances, networkInterfaces, networks, portForwards } from '../db/schema';
import { DomainError } from '../errors';
import { macAddress } from '../hypervisor';
import { formatCidr, parseCidr, usableAddresses } from './cidr';
import { ensureDefaultNetwork, liveNetworkOf } from './networks';
import { DEFAULT_RATE_MBIT, type LaunchInterface } from './validation';

export type NicMode = 'bridged' | 'user';

/** The NIC columns a tenant sees (the address as plain text). */
export const interfaceColumns = {
  id: networkInterfaces.id,
  instanceId: networkInterfaces.instanceId,
  position: networkInterfaces.position,
  networkId: networkInterfaces.networkId,
  networkName: networks.name,
  cidr: networks.cidr,
  mac: networkInterfaces.mac,
  address: sql<string | null>`host(${networkInterfaces.address})`,
  rateMbit: networkInterfaces.rateMbit,
  mode: networkInterfaces.mode,
  releasedAt: networkInterfaces.releasedAt,
};

const lockedNetworkColumns = { id: networks.id, name: networks.name, cidr: networks.cidr, isDefault: networks.isDefault };
// What most launches lock (every NIC on the default network): built once, a named statement.
const lockDefaultNetwork = prebuilt('lock-default-network', (db) =>
  db.select(lockedNetworkColumns).from(networks).where(liveNetworkOf(sql.placeholder('tenantId'), eq(networks.isDefault, true))).for('share'),
);

/**
 * Create the NICs of a new instance, in the launch transaction: each on its
 * network (the default one when none is named) with the lowest free address.
 * A full network refuses the launch, naming the network and its size.
 */
export async function allocateInterfaces(
  tx: Tx,
  inst: { id: string; tenantId: string },
  requests: LaunchInterface[],
  mode: NicMode,
  /** The position of the first new NIC (an instance that grows keeps the ones it has). */
  firstPosition = 0,
): Promise<{ id: string; position: number; networkId: string; address: string; rateMbit: number }[]> {
  const needsDefault = requests.some((r) => !r.networkId);
  const named = [...new Set(requests.flatMap((r) => (r.networkId ? [r.networkId] : [])))];
  // Locked for share: a concurrent delete of one of these networks waits for this launch (and then sees its NICs).
  // The default network is found by the same read when it exists, as it does from the tenant's creation on.
  const lockNets = (ids: string[], withDefault: boolean) =>
    ids.length === 0 && withDefault
      ? lockDefaultNetwork(tx, { tenantId: inst.tenantId })
      : tx
          .select(lockedNetworkColumns)
          .from(networks)
          .where(liveNetworkOf(inst.tenantId, or(ids.length ? inArray(networks.id, ids) : undefined, withDefault ? eq(networks.isDefault, true) : undefined)))
          .orderBy(asc(networks.id))
          .for('share');
  const nets = named.length || needsDefault ? await lockNets(named, needsDefault) : [];
  let wanted = needsDefault ? (nets.find((n) => n.isDefault)?.id ?? null) : null;
  if (needsDefault && !wanted) {
    wanted = await ensureDefaultNetwork(tx, inst.tenantId);
    nets.push(...(await lockNets([wanted], false)));
  }
  const byId = new Map(nets.map((n) => [n.id, n]));
  const out = [];
  for (const [i, r] of requests.entries()) {
    const position = firstPosition + i;
    const net = byId.get(r.networkId ?? wanted!);
    if (!net) throw new DomainError('NOT_FOUND', 'That network was not found; choose one of the tenant’s networks.', `interfaces.${position}.networkId`);
    const rateMbit = r.rateMbit ?? DEFAULT_RATE_MBIT;
    const { rows } = await executeNamed<{ id: string; address: string }>(tx, 'allocate-address', sql`
      insert into ${networkInterfaces} (instance_id, tenant_id, network_id, position, mac, address, rate_mbit, mode)
      select ${inst.id}, ${inst.tenantId}, ${net.id}, ${position}, ${macAddress(inst.id, position)}, a.address, ${rateMbit}, ${mode}
      from (
        -- Host addresses from the second (the first is the gateway) to the last before broadcast, lowest free first.
        select set_masklen(network(${net.cidr}::cidr) + g.i, 32) as address
        from generate_series(2::bigint, (1::bigint << (32 - masklen(${net.cidr}::cidr))) - 2) as g(i)
        where not exists (
          select 1 from ${networkInterfaces} x where x.network_id = ${net.id} and x.address = set_masklen(network(${net.cidr}::cidr) + g.i, 32)
        )
        order by g.i
        limit 1
      ) a
      returning id, host(address) as address`);
    const row = rows[0];
    if (!row) {
      const cidr = parseCidr(net.cidr);
      throw new DomainError(
        'INSUFFICIENT_CAPACITY',
        `Network “${net.name}” (${formatCidr(cidr)}) is full: all ${usableAddresses(cidr)} of its addresses are in use. Choose another network or terminate an instance on it.`,
        `interfaces.${position}.networkId`,
      );
    }
    out.push({ id: row.id, position, networkId: net.id, address: row.address, rateMbit });
  }
  return out;
}

/** A stopped instance gives up its NICs from `fromPosition` on: they go, with their port forwards (same transaction). */
export async function removeInterfacesFrom(tx: DbOrTx, instanceId: string, fromPosition: number): Promise<void> {
  const gone = and(eq(networkInterfaces.instanceId, instanceId), gte(networkInterfaces.position, fromPosition));
  await tx.delete(portForwards).where(inArray(portForwards.interfaceId, tx.select({ id: networkInterfaces.id }).from(networkInterfaces).where(gone)));
  await tx.delete(networkInterfaces).where(gone);
}

/** The instance's NICs give their addresses back and its port forwards close (terminate accepted; same transaction). */
export async function releaseInterfaces(tx: DbOrTx, instanceId: string): Promise<void> {
  await tx.delete(portForwards).where(eq(portForwards.instanceId, instanceId));
  await tx
    .update(networkInterfaces)
    .set({ address: null, releasedAt: sql`now()` })
    .where(and(eq(networkInterfaces.instanceId, instanceId), isNull(networkInterfaces.releasedAt)));
}

/** An instance's NICs in order (live ones, or the released record of a terminated instance). */
export async function interfacesOf(db: DbOrTx, tenantId: string, instanceId: string) {
  return db
    .select(interfaceColumns)
    .from(networkInterfaces)
    .innerJoin(networks, eq(networks.id, networkInterfaces.networkId))
    .where(and(eq(networkInterfaces.tenantId, tenantId), eq(networkInterfaces.instanceId, instanceId)))
    .orderBy(asc(networkInterfaces.position));
}

/**
 * What the ledger meters of an instance's network (correlated to `instances.id`):
 * the rates of its live NICs on tenant networks (a user-mode NIC is not shaped,
 * so its rate is not sold), and its port forwards.
 */
export const meteredNetworkColumns = () => ({
  bandwidthMbit: sql<number>`(select coalesce(sum(x.rate_mbit), 0)::int from ${networkInterfaces} x where x.instance_id = ${outer(instances.id)} and x.released_at is null and x.mode = 'bridged')`,
  portForwards: sql<number>`(select count(*)::int from ${portForwards} p where p.instance_id = ${outer(instances.id)})`,
});

export type NicCounters = { counters(nicId: string): { rxBytes: number; txBytes: number } | null };

/**
 * An instance's NICs as its page shows them: network, address, MAC, rate,
 * how it is wired (and why, when user-mode), and its byte counters from the
 * host's side when `host` is the host the guest runs on.
 */
export async function instanceInterfaces(db: DbOrTx, tenantId: string, instanceId: string, host: { id: string; network: NicCounters } | null) {
  const [inst] = await db
    .select({ hostId: instances.hostId, state: instances.state, note: hosts.networkNote })
    .from(instances)
    .leftJoin(hosts, eq(hosts.id, instances.hostId))
    .where(and(eq(instances.tenantId, tenantId), eq(instances.id, instanceId)));
  if (!inst) throw new DomainError('NOT_FOUND', `Instance ${instanceId} was not found.`);
  const here = host && inst.hostId === host.id && inst.state === 'running' ? host.network : null;
  return (await interfacesOf(db, tenantId, instanceId)).map((n) => ({
    ...n,
    name: `eth${n.position}`,
    note: n.mode === 'user' ? (inst.note ?? 'This NIC uses QEMU user-mode networking.') : null,
    counters: here && n.mode === 'bridged' && !n.releasedAt ? here.counters(n.id) : null,
  }));
}
