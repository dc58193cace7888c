// What one host's network should be, derived from the database: every live
// bridged NIC of an instance placed on the host, on its network, with the
// network's port forwards; each network gets a transit slot on the host
// (network_hosts), kept while the network is realised there.
import { and, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { parseNodeAddress } from '../cluster/channel';
import type { Db } from '../db/client';
import { hosts, instances, networkHosts, networkInterfaces, networks, portForwards } from '../db/schema';
import { macAddress, type NicSpec } from '../hypervisor';
import { dnsLabel, type HostNetworkSpec, type NetworkSpec, type VxlanSpec } from '../hypervisor/net/spec';
import { tapName, TRANSIT_SLOTS } from '../hypervisor/net/names';

export type InstanceNics = Map<string, { state: string; nicIds: string[] }>;

export async function hostNetworkSpec(db: Db, hostId: string, tag: string): Promise<{ spec: HostNetworkSpec; instances: InstanceNics }> {
  const nics = await db
    .select({
      id: networkInterfaces.id,
      mac: networkInterfaces.mac,
      ip: sql<string>`host(${networkInterfaces.address})`,
      rateMbit: networkInterfaces.rateMbit,
      networkId: networks.id,
      cidr: networks.cidr,
      gateway: sql<string>`host(${networks.gateway})`,
      instanceId: instances.id,
      instanceName: instances.name,
      state: instances.state,
    })
    .from(networkInterfaces)
    .innerJoin(instances, eq(instances.id, networkInterfaces.instanceId))
    .innerJoin(networks, eq(networks.id, networkInterfaces.networkId))
    // Its instances', and those of instances moving here (their taps are made here before they arrive).
    .where(and(or(eq(instances.hostId, hostId), eq(instances.migrationHostId, hostId)), isNull(networkInterfaces.releasedAt), eq(networkInterfaces.mode, 'bridged')))
    .orderBy(networkInterfaces.instanceId, networkInterfaces.position);
  const forwards = await db
    .select({ hostPort: portForwards.hostPort, guestPort: portForwards.guestPort, ip: sql<string>`host(${networkInterfaces.address})`, networkId: networkInterfaces.networkId })
    .from(portForwards)
    .innerJoin(networkInterfaces, eq(networkInterfaces.id, portForwards.interfaceId))
    .where(and(eq(portForwards.hostId, hostId), isNull(networkInterfaces.releasedAt), eq(networkInterfaces.mode, 'bridged')));

  const byNetwork = new Map<string, NetworkSpec>();
  const byInstance: InstanceNics = new Map();
  for (const n of nics) {
    let net = byNetwork.get(n.networkId);
    if (!net) byNetwork.set(n.networkId, (net = { id: n.networkId, cidr: n.cidr, gateway: n.gateway, slot: -1, nics: [], forwards: [] }));
    net.nics.push({ id: n.id, mac: n.mac, ip: n.ip, hostname: dnsLabel(n.instanceName, n.instanceId), aliases: [n.instanceId], rateMbit: n.rateMbit });
    const i = byInstance.get(n.instanceId) ?? { state: n.state, nicIds: [] };
    i.nicIds.push(n.id);
    byInstance.set(n.instanceId, i);
  }
  // Only forwards to bridged NICs: one left on a NIC that went user-mode (the host ran
  // without tenant networks for a while) would name an address none of the spec's NICs has.
  for (const f of forwards) byNetwork.get(f.networkId)?.forwards.push({ hostPort: f.hostPort, ip: f.ip, guestPort: f.guestPort });

  const slots = await transitSlots(db, hostId, [...byNetwork.keys()]);
  for (const net of byNetwork.values()) net.slot = slots.get(net.id)!;
  for (const [networkId, vxlan] of await spanning(db, hostId, [...byNetwork.keys()])) {
    const net = byNetwork.get(networkId)!;
    // Names only for the NICs not here (one moving here is in both lists until its move ends).
    const here = new Set(net.nics.map((n) => n.ip));
    net.vxlan = { ...vxlan, names: vxlan.names?.filter((r) => !here.has(r.ip)) };
  }
  return { spec: { tag, networks: [...byNetwork.values()] }, instances: byInstance };
}

/** A node's underlay address (its node channel's host), or null on one machine (loopback) or when it has none. */
export function underlayOf(nodeAddress: string | null): string | null {
  if (!nodeAddress) return null;
  try {
    const { host } = parseNodeAddress(nodeAddress);
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && !host.startsWith('127.') ? host : null;
  } catch {
    return null;
  }
}

/**
 * The networks of this host that other hosts have too (their instances'
 * bridged NICs, or those of instances moving there): each joins them over
 * VXLAN, from this node's underlay address to theirs. A host on one machine
 * alone (a loopback node address) spans nothing.
 */
async function spanning(db: Db, hostId: string, networkIds: string[]): Promise<Map<string, VxlanSpec>> {
  const out = new Map<string, VxlanSpec>();
  if (networkIds.length === 0) return out;
  const [me] = await db.select({ nodeAddress: hosts.nodeAddress }).from(hosts).where(eq(hosts.id, hostId));
  const local = underlayOf(me?.nodeAddress ?? null);
  if (!local) return out;
  const rows = await db
    .selectDistinct({
      networkId: networks.id,
      vni: networks.vxlanId,
      nodeAddress: hosts.nodeAddress,
      ip: sql<string>`host(${networkInterfaces.address})`,
      instanceId: instances.id,
      instanceName: instances.name,
    })
    .from(networkInterfaces)
    .innerJoin(networks, eq(networks.id, networkInterfaces.networkId))
    .innerJoin(instances, eq(instances.id, networkInterfaces.instanceId))
    .innerJoin(hosts, or(eq(hosts.id, instances.hostId), eq(hosts.id, instances.migrationHostId)))
    .where(and(inArray(networks.id, networkIds), isNull(networkInterfaces.releasedAt), eq(networkInterfaces.mode, 'bridged'), ne(hosts.id, hostId)));
  for (const r of rows) {
    const peer = underlayOf(r.nodeAddress);
    if (!peer || peer === local) continue;
    const v = out.get(r.networkId) ?? { vni: r.vni, local, peers: [], names: [] };
    if (!v.peers.includes(peer)) v.peers.push(peer);
    // One name per NIC (a moving instance's rows come once per host it is on).
    if (!v.names!.some((x) => x.ip === r.ip)) v.names!.push({ ip: r.ip, hostname: dnsLabel(r.instanceName, r.instanceId), aliases: [r.instanceId] });
    out.set(r.networkId, v);
  }
  for (const v of out.values()) {
    v.peers.sort();
    v.names!.sort((x, y) => x.ip.localeCompare(y.ip));
  }
  return out;
}

/**
 * The transit slot of each network on this host, allocating the lowest free
 * one for a network new here and letting go of networks no longer here. Only
 * the host's own agent writes its rows, and (host, slot) is unique anyway.
 */
async function transitSlots(db: Db, hostId: string, networkIds: string[]): Promise<Map<string, number>> {
  const read = async () =>
    new Map(
      (await db.select({ networkId: networkHosts.networkId, slot: networkHosts.slot }).from(networkHosts).where(eq(networkHosts.hostId, hostId))).map((r) => [
        r.networkId,
        r.slot,
      ]),
    );
  let slots = await read();
  const gone = [...slots.keys()].filter((id) => !networkIds.includes(id));
  const fresh = networkIds.filter((id) => !slots.has(id));
  if (gone.length) await db.delete(networkHosts).where(and(eq(networkHosts.hostId, hostId), inArray(networkHosts.networkId, gone)));
  for (const networkId of fresh) {
    await db.execute(sql`
      insert into ${networkHosts} (network_id, host_id, slot)
      select ${networkId}, ${hostId}, s from generate_series(0, ${TRANSIT_SLOTS - 1}) s
      where not exists (select 1 from ${networkHosts} h where h.host_id = ${hostId} and h.slot = s)
      order by s limit 1
      on conflict do nothing`);
  }
  if (gone.length || fresh.length) slots = await read();
  const lacking = networkIds.filter((id) => !slots.has(id));
  if (lacking.length) throw new Error(`no transit slot left on host ${hostId} for ${lacking.length} network(s) (${TRANSIT_SLOTS} per host)`);
  return slots;
}

/**
 * The NICs a guest is created with: its NIC rows in order, as taps where the
 * host builds tenant networks (`tag`), user-mode where it cannot (null) — which
 * is recorded on the rows, since the guest keeps it until it is re-created.
 * `undefined`: no network agent at all (tests of code above the network): the
 * rows keep their mode and the NICs have no taps.
 * An instance launched before NICs had networks keeps `count` user-mode NICs.
 */
export async function guestNics(db: Db, instanceId: string, count: number, tag: string | null | undefined): Promise<NicSpec[]> {
  const rows = await db
    .select({ id: networkInterfaces.id, mac: networkInterfaces.mac, mode: networkInterfaces.mode })
    .from(networkInterfaces)
    .where(and(eq(networkInterfaces.instanceId, instanceId), isNull(networkInterfaces.releasedAt)))
    .orderBy(networkInterfaces.position);
  if (rows.length === 0) return Array.from({ length: count }, (_, i) => ({ mac: macAddress(instanceId, i), tap: null }));
  if (tag === undefined) return rows.map((r) => ({ mac: r.mac, tap: null }));
  const mode = tag ? 'bridged' : 'user';
  if (rows.some((r) => r.mode !== mode)) {
    await db.update(networkInterfaces).set({ mode }).where(and(eq(networkInterfaces.instanceId, instanceId), isNull(networkInterfaces.releasedAt)));
  }
  return rows.map((r) => ({ mac: r.mac, tap: tag ? tapName(tag, r.id) : null }));
}
