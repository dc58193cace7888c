// A tenant network across nodes (local-cluster.ts with tenant networks): each
// node builds the network's bridge, router and DHCP in its own namespace, and
// the bridges are joined over VXLAN between the nodes' addresses. Two guests
// of one network on two nodes reach each other; one of them moves live to the
// third node and they still do, each keeping its address.
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/client';
import { hosts, instanceMigrations, instances, networkInterfaces, networks } from '../db/schema';
import { hostTag, vxlanName } from '../hypervisor/net/names';
import { guestShell } from '../hypervisor/qemu/test-support';
import { trpc, waitFor } from '../test/server-process';
import type { LocalCluster } from './local-cluster';
import { startTestCluster } from './test-cluster';

let cluster: LocalCluster;
let db: Db;
let token: string;
let adminToken: string;
let tenantId: string;
let stop: () => Promise<void>;
const launched: string[] = [];

beforeAll(async () => {
  ({ cluster, db, token, adminToken, tenantId, stop } = await startTestCluster({
    name: 'netcluster',
    quota: { instances: 4, vcpus: 4, memoryMiB: 1024 },
    launched: () => launched,
    options: { tenantNetworks: true },
  }));
}, 300_000);

afterAll(() => stop?.(), 120_000);

/** Where an instance runs now, its address, and a shell on it through its serial console on that node. */
async function guest(id: string) {
  const [row] = await db
    .select({ host: hosts.name, hostId: hosts.id, ip: networkInterfaces.address, networkId: networkInterfaces.networkId })
    .from(instances)
    .innerJoin(hosts, eq(hosts.id, instances.hostId))
    .innerJoin(networkInterfaces, and(eq(networkInterfaces.instanceId, instances.id), isNull(networkInterfaces.releasedAt)))
    .where(eq(instances.id, id));
  const node = cluster.nodes.find((n) => n.name === row!.host)!;
  const sh = (line: string) => guestShell({ console: async () => ({ serialSocket: path.join(node.dataDir, 'guests', id, 'run', 'serial.sock') }) }, id, line);
  return { ...row!, ip: row!.ip!.replace(/\/\d+$/, ''), node, sh };
}

const pings = (sh: (l: string) => Promise<string>, ip: string) => sh(`ping -c 3 -W 2 ${ip} 2>&1 | grep -o '[0-9]* packets received'`);

describe('a tenant network across three nodes', { timeout: 300_000 }, () => {
  it('joins two guests of one network on two nodes over VXLAN, and keeps them joined when one moves live to a third', async () => {
    // A spread group puts them on two nodes.
    for (const name of ['left', 'right']) {
      const r = await trpc<{ id: string }>(cluster.url, token, 'instances.launch', { tenantId, name, imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, spreadGroup: 'pair' });
      if (!r.ok) throw new Error(r.message);
      launched.push(r.data.id);
    }
    await waitFor('both running', () => db.select({ state: instances.state }).from(instances).where(inArray(instances.id, launched)), (rs) => rs.every((r) => r.state === 'running'), 120_000);
    let [a, b] = [await guest(launched[0]!), await guest(launched[1]!)];
    expect(a.host).not.toBe(b.host);
    expect(a.networkId).toBe(b.networkId);
    // Each has its address from its own node's DHCP server.
    for (const g of [a, b]) await waitFor(`${g.host}'s guest's address`, () => g.sh('ip -4 -o addr show eth0').catch(() => ''), (out) => out.includes(` ${g.ip}/`), 120_000);

    // The network's bridge on each node has a VXLAN port with the network's id, flooding to the other node.
    const [net] = await db.select({ vni: networks.vxlanId }).from(networks).where(eq(networks.id, a.networkId!));
    for (const [g, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const dev = vxlanName(hostTag(g.hostId), a.networkId!);
      await waitFor(
        `the VXLAN port on ${g.host}`,
        () => spawnSync('ip', ['-n', g.node.ns, '-d', '-j', 'link', 'show', dev], { encoding: 'utf8' }).stdout,
        (out) => out.includes(`"id":${net!.vni}`),
        30_000,
      );
      const fdb = spawnSync('ip', ['netns', 'exec', g.node.ns, 'bridge', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }).stdout;
      expect(fdb).toContain(`00:00:00:00:00:00 dst ${other.node.ip}`);
    }
    // One reaches the other across the nodes, both ways.
    expect(await waitFor('left pings right', () => pings(a.sh, b.ip).catch(() => ''), (r) => r.startsWith('3 '), 60_000)).toBe('3 packets received');
    expect(await pings(b.sh, a.ip)).toBe('3 packets received');
    // Each finds the other by its instance's name from its own node's DNS (the router's address: the network's first).
    const gateway = (await db.select({ gateway: networks.gateway }).from(networks).where(eq(networks.id, a.networkId!)))[0]!.gateway.replace(/\/\d+$/, '');
    expect(await a.sh(`nslookup right ${gateway} 2>&1 | grep -c '${b.ip}'`)).not.toBe('0');
    expect(await b.sh(`nslookup left ${gateway} 2>&1 | grep -c '${a.ip}'`)).not.toBe('0');

    // Left moves live to the third node: it keeps its address and still reaches right.
    const third = cluster.nodes.find((n) => n.name !== a.host && n.name !== b.host)!;
    const [to] = await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, third.name));
    const asked = await trpc<{ id: string }>(cluster.url, adminToken, 'admin.instances.migrate', { instanceId: launched[0], targetHostId: to!.id });
    if (!asked.ok) throw new Error(asked.message);
    const done = await waitFor('the move', async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, asked.data.id)))[0]!, (m) => m.state === 'completed' || m.state === 'failed', 180_000);
    expect(done.error).toBeNull();
    a = await guest(launched[0]!);
    expect(a.host).toBe(third.name);
    expect(await a.sh('ip -4 -o addr show eth0')).toContain(` ${a.ip}/`);
    expect(await waitFor('left, moved, pings right', () => pings(a.sh, b.ip).catch(() => ''), (r) => r.startsWith('3 '), 60_000)).toBe('3 packets received');
    expect(await pings(b.sh, a.ip)).toBe('3 packets received');
    b = await guest(launched[1]!);
    // The node it left has no port for the network any more (nothing of it is there).
    const left = cluster.nodes.find((n) => n.name !== third.name && n.name !== b.host)!;
    const [leftHost] = await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, left.name));
    await waitFor(
      `the network gone from ${left.name}`,
      () => spawnSync('ip', ['-n', left.ns, 'link', 'show', vxlanName(hostTag(leftHost!.id), a.networkId!)], { encoding: 'utf8' }).status,
      (status) => status !== 0,
      30_000,
    );
  });
});
