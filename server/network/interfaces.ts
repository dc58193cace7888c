// An instance's NICs: addresses allocated in PostgreSQL (IPAM) at launch,
// released when its terminate is accepted. The unique (network, address) index
// is what guarantees no two live NICs share an address, whatever runs
// concurrently; the tenant's quota lock, which every launch holds, only keeps
// the losers of that race from being told "try again".
import { and, asc, eq, gte, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
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
): Promise<AllocatedNic[]> {
  const plan = await planAddresses(tx, inst.tenantId, [requests]);
  const nics = plan.take(inst.id, requests, mode, firstPosition);
  if (nics instanceof DomainError) throw nics;
  const insertion = plan.insertion(tx);
  if (insertion) await tx.execute(insertion);
  return nics;
}

export type AllocatedNic = { position: number; networkId: string; address: string; rateMbit: number };

/**
 * The addresses a batch of new instances will take, read in one go: the
 * networks their NICs name (and the tenant's default one, made if it has
 * none) locked for share — a concurrent delete of one waits for the launch,
 * then sees its NICs — and, on each, as many of the lowest free addresses as
 * the batch could use. `take` hands them out in the order it is called, or
 * refuses one instance (an unknown network, a full one) without touching the
 * others; `insertion` writes every NIC taken, in one statement.
 */
export async function planAddresses(tx: Tx, tenantId: string, batch: LaunchInterface[][]): Promise<AddressPlan> {
  const all = batch.flat();
  const needsDefault = all.some((r) => !r.networkId);
  const named = [...new Set(all.flatMap((r) => (r.networkId ? [r.networkId] : [])))];
  const lockNets = (ids: string[], withDefault: boolean) =>
    ids.length === 0 && withDefault
      ? lockDefaultNetwork(tx, { tenantId })
      : tx
          .select(lockedNetworkColumns)
          .from(networks)
          .where(liveNetworkOf(tenantId, or(ids.length ? inArray(networks.id, ids) : undefined, withDefault ? eq(networks.isDefault, true) : undefined)))
          .orderBy(asc(networks.id))
          .for('share');
  const nets = named.length || needsDefault ? await lockNets(named, needsDefault) : [];
  let defaultId = needsDefault ? (nets.find((n) => n.isDefault)?.id ?? null) : null;
  if (needsDefault && !defaultId) {
    defaultId = await ensureDefaultNetwork(tx, tenantId);
    nets.push(...(await lockNets([defaultId], false)));
  }
  const wanted = new Map<string, number>();
  for (const r of all) {
    const id = r.networkId ?? defaultId!;
    wanted.set(id, (wanted.get(id) ?? 0) + 1);
  }
  const free = new Map<string, string[]>();
  for (const net of nets) {
    const n = wanted.get(net.id);
    if (n) free.set(net.id, await lowestFree(tx, net, n));
  }
  return new AddressPlan(tenantId, new Map(nets.map((n) => [n.id, n])), defaultId, free);
}

type LockedNetwork = { id: string; name: string; cidr: string };

/** Up to `n` of a network's free host addresses, lowest first: from the second (the first is the gateway) to the last before broadcast. */
async function lowestFree(tx: Tx, net: LockedNetwork, n: number): Promise<string[]> {
  const { rows } = await executeNamed<{ address: string }>(tx, 'free-addresses', sql`
    select host(set_masklen(network(${net.cidr}::cidr) + g.i, 32)) as address
    from generate_series(2::bigint, (1::bigint << (32 - masklen(${net.cidr}::cidr))) - 2) as g(i)
    where not exists (
      select 1 from ${networkInterfaces} x where x.network_id = ${net.id} and x.address = set_masklen(network(${net.cidr}::cidr) + g.i, 32)
    )
    order by g.i
    limit ${n}`);
  return rows.map((r) => r.address);
}

export class AddressPlan {
  private readonly taken: (typeof networkInterfaces.$inferInsert)[] = [];

  constructor(
    private readonly tenantId: string,
    private readonly nets: Map<string, LockedNetwork>,
    private readonly defaultId: string | null,
    private readonly free: Map<string, string[]>,
  ) {}

  /** The NICs of instance `instanceId`, all or none: a refusal gives back what it had taken. */
  take(instanceId: string, requests: LaunchInterface[], mode: NicMode, firstPosition = 0): AllocatedNic[] | DomainError {
    const out: AllocatedNic[] = [];
    const given: { networkId: string; address: string }[] = [];
    const refuse = (e: DomainError) => {
      for (const g of given.reverse()) this.free.get(g.networkId)!.unshift(g.address);
      return e;
    };
    for (const [i, r] of requests.entries()) {
      const position = firstPosition + i;
      const net = this.nets.get(r.networkId ?? this.defaultId ?? '');
      if (!net) return refuse(new DomainError('NOT_FOUND', 'That network was not found; choose one of the tenant’s networks.', `interfaces.${position}.networkId`));
      const address = this.free.get(net.id)?.shift();
      if (!address) {
        const cidr = parseCidr(net.cidr);
        return refuse(
          new DomainError(
            'INSUFFICIENT_CAPACITY',
            `Network “${net.name}” (${formatCidr(cidr)}) is full: all ${usableAddresses(cidr)} of its addresses are in use. Choose another network or terminate an instance on it.`,
            `interfaces.${position}.networkId`,
          ),
        );
      }
      given.push({ networkId: net.id, address });
      out.push({ position, networkId: net.id, address, rateMbit: r.rateMbit ?? DEFAULT_RATE_MBIT });
    }
    for (const nic of out) {
      this.taken.push({ instanceId, tenantId: this.tenantId, networkId: nic.networkId, position: nic.position, mac: macAddress(instanceId, nic.position), address: nic.address, rateMbit: nic.rateMbit, mode });
    }
    return out;
  }

  /** The statement that writes the NICs taken, run after their instances' rows are in (with other writes, by writeTogether); null when none was. */
  insertion(tx: Tx): SQL | null {
    return this.taken.length ? tx.insert(networkInterfaces).values(this.taken).getSQL() : null;
  }
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
