// The three-node cluster on this machine (local-cluster.ts): a control plane
// with no guests of its own, three compute nodes each in a network namespace
// of its own, one PostgreSQL. Launches go through the control plane's API and
// spread over the nodes; each guest's QEMU runs in its node's namespace; its
// console, serial log and screen reach the browser's side through the control
// plane, relayed over the node channel.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/client';
import { hosts, instanceEvents, instanceMigrations, instances, usageSegments } from '../db/schema';
import { instanceScreenshot } from '../console/screenshots';
import { guestShell, inspectPng } from '../hypervisor/qemu/test-support';
import { qemuProcessesFor, trpc, waitFor } from '../test/server-process';
import { clusterKey } from './channel';
import { setClusterContext } from './guests';
import type { LocalCluster } from './local-cluster';
import { startTestCluster } from './test-cluster';

let cluster: LocalCluster;
let db: Db;
let dir: string;
let token: string;
let adminToken: string;
let tenantId: string;
let stop: () => Promise<void>;
let launched: string[] = [];

const netnsOf = (pid: number | 'ns', ns?: string) => fs.statSync(pid === 'ns' ? `/run/netns/${ns}` : `/proc/${pid}/ns/net`).ino;

beforeAll(async () => {
  ({ cluster, db, dir, token, adminToken, tenantId, stop } = await startTestCluster({
    name: 'cluster',
    quota: { instances: 12, vcpus: 12, memoryMiB: 4096 },
    launched: () => launched,
    // Moves at 256 MiB/s: a Tiny Linux guest's 1 GiB disk takes a few seconds to mirror, long enough to kill something half-way.
    options: { env: { CIRRUS_MIGRATE_MIBPS: '256' } },
  }));
}, 300_000);

afterAll(() => stop?.(), 120_000);

/** RFB up to ServerInit over a console WebSocket: the desktop's size and name (QEMU names it after the guest). */
async function rfbInit(url: string, origin: string): Promise<{ name: string; width: number; height: number; ws: WebSocket; take: (n: number) => Promise<Buffer> }> {
  const ws = new WebSocket(url, { origin });
  let got = Buffer.alloc(0);
  let closed = '';
  ws.on('message', (d: Buffer) => (got = Buffer.concat([got, d])));
  ws.on('close', (code, reason) => (closed = `${code} ${reason.toString()}`));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let at = 0;
  const take = async (n: number) => {
    await waitFor(`${at + n} bytes from the guest`, () => (closed ? -1 : got.length), (l) => l === -1 || l >= at + n, 20_000);
    if (closed) throw new Error(`the console closed: ${closed}`);
    at += n;
    return got.subarray(at - n, at);
  };
  expect((await take(12)).toString()).toBe('RFB 003.008\n');
  ws.send(Buffer.from('RFB 003.008\n'));
  await take((await take(1))[0]!);
  ws.send(Buffer.from([1])); // no authentication: the ticket was the authentication
  expect((await take(4)).readUInt32BE(0)).toBe(0);
  ws.send(Buffer.from([1]));
  const init = await take(24);
  const name = (await take(init.readUInt32BE(20))).toString();
  return { name, width: init.readUInt16BE(0), height: init.readUInt16BE(2), ws, take };
}

describe('a three-node cluster on one machine', { timeout: 300_000 }, () => {
  it('spreads nine launches over the three nodes, each guest run by one QEMU in its node’s namespace', async () => {
    for (let i = 0; i < 9; i++) {
      const r = await trpc<{ id: string }>(cluster.url, token, 'instances.launch', {
        tenantId,
        name: `spread-${i}`,
        imageId: 'cirrus-tiny-linux',
        vcpus: 1,
        memoryMiB: 128,
        diskGiB: 1,
        nics: 1,
      });
      if (!r.ok) throw new Error(r.message);
      launched.push(r.data.id);
    }
    const rows = await waitFor(
      'all nine running',
      () => db.select({ id: instances.id, state: instances.state, host: hosts.name }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(inArray(instances.id, launched)),
      (rs) => rs.length === 9 && rs.every((r) => r.state === 'running'),
      240_000,
    );
    const perHost = Object.fromEntries(cluster.nodes.map((n) => [n.name, rows.filter((r) => r.host === n.name).length]));
    expect(perHost).toEqual({ 'node-1': 3, 'node-2': 3, 'node-3': 3 });
    for (const r of rows) {
      const node = cluster.nodes.find((n) => n.name === r.host)!;
      const pids = qemuProcessesFor(r.id);
      expect(pids, r.id).toHaveLength(1);
      expect(netnsOf(pids[0]!), `${r.id} runs in ${node.ns}`).toBe(netnsOf('ns', node.ns));
    }
  });

  it('opens a console through the control plane to a guest on each node, relayed over the node channel', async () => {
    const rows = await db.select({ id: instances.id, host: hosts.name }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(inArray(instances.id, launched));
    for (const node of cluster.nodes) {
      const id = rows.find((r) => r.host === node.name)!.id;
      const ticket = await trpc<{ path: string }>(cluster.url, token, 'console.ticket', { tenantId, instanceId: id, kind: 'vnc' });
      if (!ticket.ok) throw new Error(ticket.message);
      const rfb = await rfbInit(cluster.url.replace('http', 'ws') + ticket.data.path, cluster.url);
      // QEMU names the desktop after its guest: this is that instance's screen, from its node.
      expect(rfb.name, node.name).toBe(`QEMU (${id})`);
      // The whole screen, raw, to the last byte.
      rfb.ws.send(Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]));
      rfb.ws.send(Buffer.from([3, 0, 0, 0, 0, 0, rfb.width >> 8, rfb.width & 255, rfb.height >> 8, rfb.height & 255]));
      const head = await rfb.take(4);
      let area = 0;
      for (let n = head.readUInt16BE(2); n > 0; n--) {
        const rect = await rfb.take(12);
        const pixels = rect.readUInt16BE(4) * rect.readUInt16BE(6);
        await rfb.take(pixels * 4);
        area += pixels;
      }
      expect(area, node.name).toBe(rfb.width * rfb.height);
      rfb.ws.close();
      // The ticket was used once: the same link does not open a second session.
      const again = new WebSocket(cluster.url.replace('http', 'ws') + ticket.data.path, { origin: cluster.url });
      const code = await new Promise<number>((r) => again.on('close', (c) => r(c)));
      expect(code).toBe(4401);
    }
  });

  it('reads a guest’s serial log through the control plane, and its screen with the cluster key (and not without)', async () => {
    const id = launched[0]!;
    const log = await waitFor(
      'boot output in the serial log',
      async () => trpc<{ text: string }>(cluster.url, token, 'instances.serialLog', { tenantId, instanceId: id }, 'query'),
      (r) => r.ok && r.data.text.includes('Linux'),
      60_000,
    );
    expect(log.ok).toBe(true);
    // The screen as a control plane reads it (this test process, holding the cluster's key and no guests).
    setClusterContext({ hostId: null, local: null, key: clusterKey(dir, cluster.keyFile) });
    try {
      const png = await instanceScreenshot(db, tenantId, id);
      expect(inspectPng(png)).toMatchObject({ width: expect.any(Number) });
      // Without the key, the node does not answer.
      setClusterContext({ hostId: null, local: null, key: crypto.randomBytes(32) });
      await expect(instanceScreenshot(db, tenantId, launched[1]!)).rejects.toThrow(/not reachable/);
    } finally {
      setClusterContext(undefined);
    }
  });

  it('moves a running guest live to another node through the control plane: the counter in it goes on, one QEMU runs it, the ledger has no gap', async () => {
    const rows = await db.select({ id: instances.id, host: hosts.name }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(inArray(instances.id, launched));
    const id = rows.find((r) => r.host === 'node-1')!.id;
    const [to] = await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, 'node-2'));
    const shell = (node: string, line: string) =>
      guestShell({ console: async () => ({ serialSocket: path.join(cluster.nodes.find((n) => n.name === node)!.dataDir, 'guests', id, 'run', 'serial.sock') }) }, id, line);
    const t0 = Date.now();
    await waitFor('the guest’s shell', () => shell('node-1', 'echo up').catch(() => ''), (r) => r === 'up', 90_000);
    console.log(`[cluster] shell after ${Date.now() - t0} ms`);
    await shell('node-1', " sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null 2>&1 & echo started");
    const bootId = await shell('node-1', 'cat /proc/sys/kernel/random/boot_id');
    const before = Number(await shell('node-1', 'cat /tmp/count'));

    // Refused with a sentence: to the host it is on, and by a tenant (admins only).
    const same = await trpc(cluster.url, adminToken, 'admin.instances.migrate', { instanceId: id, targetHostId: (await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, 'node-1')))[0]!.id });
    expect(same.ok).toBe(false);
    expect(same.ok ? '' : same.message).toMatch(/already runs on that host/);
    expect((await trpc(cluster.url, token, 'admin.instances.migrate', { instanceId: id })).ok).toBe(false);

    const asked = await trpc<{ id: string }>(cluster.url, adminToken, 'admin.instances.migrate', { instanceId: id, targetHostId: to!.id });
    if (!asked.ok) throw new Error(asked.message);
    const done = await waitFor(
      'the move to end',
      async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, asked.data.id)))[0]!,
      (m) => m.state === 'completed' || m.state === 'failed',
      180_000,
    );
    expect(done.error).toBeNull();
    expect(done.state).toBe('completed');
    console.log(`[cluster] live migration node-1 → node-2: ${((done.finishedAt!.getTime() - done.createdAt.getTime()) / 1000).toFixed(1)} s, downtime ${done.downtimeMs} ms`);
    expect(done.downtimeMs).toBeGreaterThanOrEqual(0);

    const [after] = await db.select({ hostId: instances.hostId, migrationHostId: instances.migrationHostId, state: instances.state }).from(instances).where(eq(instances.id, id));
    expect(after).toEqual({ hostId: to!.id, migrationHostId: null, state: 'running' });
    // Exactly one QEMU runs it, in node-2's namespace.
    await waitFor('one QEMU', () => qemuProcessesFor(id), (p) => p.length === 1, 30_000);
    expect(netnsOf(qemuProcessesFor(id)[0]!)).toBe(netnsOf('ns', cluster.nodes[1]!.ns));
    // The same boot, and the counter went on from where it was.
    expect(await shell('node-2', 'cat /proc/sys/kernel/random/boot_id')).toBe(bootId);
    const moved = Number(await shell('node-2', 'cat /tmp/count'));
    expect(moved).toBeGreaterThan(before);
    await waitFor('the counter counting on node-2', async () => Number(await shell('node-2', 'cat /tmp/count')), (n) => n > moved, 10_000);
    // The downtime is in the instance's events, where its tenant reads them.
    const events = await db.select({ action: instanceEvents.action, message: instanceEvents.message }).from(instanceEvents).where(eq(instanceEvents.instanceId, id));
    expect(events.find((e) => e.action === 'migrated')?.message).toMatch(/from host node-1 to node-2; the guest was paused for \d+ ms/);
    // Metering went on through the move: per resource, segments follow each other with no gap or overlap, one open.
    const segments = await db.select().from(usageSegments).where(eq(usageSegments.instanceId, id)).orderBy(usageSegments.resource, usageSegments.startedAt);
    for (const resource of new Set(segments.map((x) => x.resource))) {
      const mine = segments.filter((x) => x.resource === resource);
      expect(mine.filter((x) => x.endedAt === null), resource).toHaveLength(1);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.startedAt.getTime(), resource).toBe(mine[i - 1]!.endedAt!.getTime());
    }
    // Its console opens through the control plane, now from node-2.
    const ticket = await trpc<{ path: string }>(cluster.url, token, 'console.ticket', { tenantId, instanceId: id, kind: 'vnc' });
    if (!ticket.ok) throw new Error(ticket.message);
    const rfb = await rfbInit(cluster.url.replace('http', 'ws') + ticket.data.path, cluster.url);
    expect(rfb.name).toBe(`QEMU (${id})`);
    rfb.ws.close();
  });

  it('converges when the control plane, the source node or the target node is killed (-9) in the middle of a move: one QEMU, on one host', async () => {
    const hostIdOf = async (name: string) => (await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, name)))[0]!.id;
    const onNode3 = (await db.select({ id: instances.id }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(and(inArray(instances.id, launched), eq(hosts.name, 'node-3')))).map((r) => r.id);
    expect(onNode3).toHaveLength(3);
    const move = async (id: string, to: string) => {
      const r = await trpc<{ id: string }>(cluster.url, adminToken, 'admin.instances.migrate', { instanceId: id, targetHostId: await hostIdOf(to) });
      if (!r.ok) throw new Error(r.message);
      await waitFor('the copy under way', async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, r.data.id)))[0]!.state, (st) => st === 'copying', 60_000);
      return r.data.id;
    };
    const ended = (migrationId: string) =>
      waitFor('the move to end', async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, migrationId)))[0]!, (m) => m.state === 'completed' || m.state === 'failed', 180_000);
    const runsOnlyOn = async (id: string, node: string) => {
      const [row] = await db.select({ host: hosts.name, state: instances.state, moving: instances.migrationHostId }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(eq(instances.id, id));
      expect(row).toEqual({ host: node, state: 'running', moving: null });
      await waitFor(`one QEMU for ${id}`, () => qemuProcessesFor(id), (p) => p.length === 1, 90_000);
      expect(netnsOf(qemuProcessesFor(id)[0]!)).toBe(netnsOf('ns', cluster.nodes.find((n) => n.name === node)!.ns));
    };

    // The control plane: the move is the nodes' work, and it ends while no control plane runs.
    const a = await move(onNode3[0]!, 'node-1');
    await cluster.killControl();
    expect((await ended(a)).state).toBe('completed');
    await cluster.startControl();
    await runsOnlyOn(onNode3[0]!, 'node-1');

    // The source node's server: its guest runs on; the restarted node finds the move cut off, undoes it and says so.
    const b = await move(onNode3[1]!, 'node-2');
    await cluster.killNodeServer('node-3');
    await cluster.startNode('node-3');
    const mb = await ended(b);
    expect(mb.state).toBe('failed');
    expect(mb.error).toMatch(/interrupted/);
    await runsOnlyOn(onNode3[1]!, 'node-3');

    // The target node's server: the copy breaks, the source runs on; the target's half-made guest goes when it is back.
    const c = await move(onNode3[2]!, 'node-2');
    await cluster.killNodeServer('node-2');
    const mc = await ended(c);
    expect(mc.state).toBe('failed');
    await cluster.startNode('node-2');
    await cluster.waitForNodes();
    await runsOnlyOn(onNode3[2]!, 'node-3');
  });

  it('cancels a live move half-way when an admin asks: the guest runs on where it was, by one QEMU there and none on the target', async () => {
    const [row] = await db.select({ id: instances.id }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(and(inArray(instances.id, launched), eq(hosts.name, 'node-1')));
    const id = row!.id;
    const [to] = await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, 'node-2'));
    const asked = await trpc<{ id: string }>(cluster.url, adminToken, 'admin.instances.migrate', { instanceId: id, targetHostId: to!.id });
    if (!asked.ok) throw new Error(asked.message);
    await waitFor('the copy under way', async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, asked.data.id)))[0]!.state, (st) => st === 'copying', 60_000);
    // A tenant cannot; an admin can.
    expect((await trpc(cluster.url, token, 'admin.instances.cancelMigration', { migrationId: asked.data.id })).ok).toBe(false);
    const cancelled = await trpc(cluster.url, adminToken, 'admin.instances.cancelMigration', { migrationId: asked.data.id });
    if (!cancelled.ok) throw new Error(cancelled.message);
    const ended = await waitFor('the move to end', async () => (await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, asked.data.id)))[0]!, (m) => m.state === 'completed' || m.state === 'failed', 60_000);
    expect(ended).toMatchObject({ state: 'failed', error: expect.stringMatching(/cancelled it; the instance runs on node-1 as before/) });
    const [after] = await db.select({ host: hosts.name, state: instances.state, moving: instances.migrationHostId }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(eq(instances.id, id));
    expect(after).toEqual({ host: 'node-1', state: 'running', moving: null });
    await waitFor('one QEMU', () => qemuProcessesFor(id), (p) => p.length === 1, 30_000);
    expect(netnsOf(qemuProcessesFor(id)[0]!)).toBe(netnsOf('ns', cluster.nodes[0]!.ns));
    // Asked again once it has ended: refused with a sentence.
    const again = await trpc(cluster.url, adminToken, 'admin.instances.cancelMigration', { migrationId: asked.data.id });
    expect(again.ok ? '' : again.message).toMatch(/has ended \(failed\): there is nothing to cancel/);
  });

  it('evacuates a node: its running guest moves live, its stopped one as a copy of its disk, and the node ends with none', async () => {
    const onNode3 = async () =>
      db
        .select({ id: instances.id, state: instances.state })
        .from(instances)
        .innerJoin(hosts, eq(hosts.id, instances.hostId))
        .where(and(inArray(instances.id, launched), eq(hosts.name, 'node-3')));
    const [running, toStop] = (await onNode3()).map((r) => r.id);
    expect(toStop).toBeDefined();
    const shellOn = async (id: string) => {
      const [row] = await db.select({ host: hosts.name }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(eq(instances.id, id));
      const node = cluster.nodes.find((n) => n.name === row!.host)!;
      return (line: string) => guestShell({ console: async () => ({ serialSocket: path.join(node.dataDir, 'guests', id, 'run', 'serial.sock') }) }, id, line);
    };
    // Something on the stopped one's disk to find again after its move.
    const sh = await shellOn(toStop!);
    await waitFor('the guest’s shell', () => sh('echo up').catch(() => ''), (r) => r === 'up', 90_000);
    await sh('echo kept-through-the-move > /data/marker; sync; echo ok');
    const stopped = await trpc(cluster.url, token, 'instances.stop', { tenantId, instanceId: toStop });
    if (!stopped.ok) throw new Error(stopped.message);
    await waitFor('stopped', async () => (await db.select({ state: instances.state }).from(instances).where(eq(instances.id, toStop!)))[0]!.state, (st) => st === 'stopped', 60_000);

    const node3 = (await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, 'node-3')))[0]!.id;
    const evacuated = await trpc<{ queued: number; refused: unknown[] }>(cluster.url, adminToken, 'admin.hosts.evacuate', { hostId: node3 });
    if (!evacuated.ok) throw new Error(evacuated.message);
    expect(evacuated.data).toEqual({ queued: 2, refused: [] });
    await waitFor('node-3 empty', onNode3, (rs) => rs.length === 0, 180_000);
    const moves = await db.select().from(instanceMigrations).where(and(eq(instanceMigrations.sourceHostId, node3), eq(instanceMigrations.reason, 'evacuation')));
    expect(moves.map((m) => [m.kind, m.state]).sort()).toEqual([
      ['cold', 'completed'],
      ['live', 'completed'],
    ]);
    expect((await db.select({ state: hosts.state }).from(hosts).where(eq(hosts.id, node3)))[0]!.state).toBe('maintenance');
    // The running one runs elsewhere, by one QEMU; the stopped one is stopped elsewhere, and starts there with its disk.
    const node3ns = netnsOf('ns', cluster.nodes[2]!.ns);
    await waitFor('one QEMU', () => qemuProcessesFor(running!), (p) => p.length === 1, 60_000);
    expect(netnsOf(qemuProcessesFor(running!)[0]!)).not.toBe(node3ns);
    expect((await db.select({ state: instances.state }).from(instances).where(eq(instances.id, toStop!)))[0]!.state).toBe('stopped');
    expect(qemuProcessesFor(toStop!)).toEqual([]);
    const started = await trpc(cluster.url, token, 'instances.start', { tenantId, instanceId: toStop });
    if (!started.ok) throw new Error(started.message);
    await waitFor('running again', async () => (await db.select({ state: instances.state }).from(instances).where(eq(instances.id, toStop!)))[0]!.state, (st) => st === 'running', 60_000);
    expect(netnsOf(qemuProcessesFor(toStop!)[0]!)).not.toBe(node3ns);
    const moved = await shellOn(toStop!);
    await waitFor('its shell on its new host', () => moved('echo up').catch(() => ''), (r) => r === 'up', 90_000);
    expect(await moved('cat /data/marker')).toBe('kept-through-the-move');
  });

  it('a node killed with its guests is declared down and fenced: its auto-recover instance boots on another node from the shared pool within 60 s, the other shows host down, and the node back does not start it', async () => {
    const hostIdOf = async (name: string) => (await db.select({ id: hosts.id }).from(hosts).where(eq(hosts.name, name)))[0]!.id;
    const setHost = async (name: string, state: 'enabled' | 'maintenance') => {
      const r = await trpc(cluster.url, adminToken, 'admin.hosts.update', { hostId: await hostIdOf(name), state });
      if (!r.ok) throw new Error(r.message);
    };
    // Both onto node-3 (the evacuation left it in maintenance): the others closed while they launch.
    await setHost('node-3', 'enabled');
    await setHost('node-1', 'maintenance');
    await setHost('node-2', 'maintenance');
    const launch = async (name: string, autoRecover: boolean) => {
      const r = await trpc<{ id: string; hostId: string }>(cluster.url, token, 'instances.launch', { tenantId, name, imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, autoRecover });
      if (!r.ok) throw new Error(r.message);
      launched.push(r.data.id);
      return r.data;
    };
    const ha = await launch('ha', true);
    const plain = await launch('plain', false);
    const node3 = await hostIdOf('node-3');
    expect([ha.hostId, plain.hostId]).toEqual([node3, node3]);
    await setHost('node-1', 'enabled');
    await setHost('node-2', 'enabled');
    const state = async (id: string) => (await db.select({ state: instances.state, reason: instances.stateReason, host: hosts.name }).from(instances).innerJoin(hosts, eq(hosts.id, instances.hostId)).where(eq(instances.id, id)))[0]!;
    await waitFor('both running', async () => [await state(ha.id), await state(plain.id)], (rs) => rs.every((r) => r.state === 'running'), 90_000);
    // Its whole guest is on the shared pool: something written to its disk, and the boot it is in.
    const poolDir = path.join(cluster.sharedPool, 'guests', ha.id);
    const sh = (line: string) => guestShell({ console: async () => ({ serialSocket: path.join(poolDir, 'run', 'serial.sock') }) }, ha.id, line);
    await waitFor('the guest’s shell', () => sh('echo up').catch(() => ''), (r) => r === 'up', 90_000);
    await sh('echo kept-through-the-failure > /data/marker; sync; echo ok');
    const bootId = await sh('cat /proc/sys/kernel/random/boot_id');

    // node-3 dies with its guests: every process in its namespace killed at once.
    const killedAt = Date.now();
    await cluster.killNode('node-3');
    expect(qemuProcessesFor(ha.id)).toEqual([]);
    const back = await waitFor('the auto-recover instance running on another node', () => state(ha.id), (r) => r.state === 'running' && r.host !== 'node-3', 60_000);
    console.log(`[cluster] node-3 killed → ${ha.id} running on ${back.host} after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
    expect((await state(plain.id)).state).toBe('error');
    expect((await state(plain.id)).reason).toMatch(/^Host down: node-3 stopped answering/);
    const [down] = await db.select({ state: hosts.state, fencedAt: hosts.fencedAt }).from(hosts).where(eq(hosts.id, node3));
    expect(down).toMatchObject({ state: 'down', fencedAt: expect.any(Date) });
    const events = await db.select({ action: instanceEvents.action, message: instanceEvents.message }).from(instanceEvents).where(eq(instanceEvents.instanceId, ha.id));
    expect(events.find((e) => e.action === 'recovered')?.message).toMatch(new RegExp(`node-3 went down and was fenced; it restarts on ${back.host}`));
    // One QEMU, in its new node's namespace; a new boot, from the same disk.
    await waitFor('one QEMU', () => qemuProcessesFor(ha.id), (p) => p.length === 1, 30_000);
    expect(netnsOf(qemuProcessesFor(ha.id)[0]!)).toBe(netnsOf('ns', cluster.nodes.find((n) => n.name === back.host)!.ns));
    await waitFor('its shell on its new node', () => sh('echo up').catch(() => ''), (r) => r === 'up', 90_000);
    expect(await sh('cat /proc/sys/kernel/random/boot_id')).not.toBe(bootId);
    expect(await sh('cat /data/marker')).toBe('kept-through-the-failure');
    expect(fs.readFileSync(path.join(poolDir, 'owner'), 'utf8').trim()).toBe(await hostIdOf(back.host));

    // node-3 comes back: enabled again, its own instance back as stopped, and the one that moved is not started there.
    await cluster.startNode('node-3');
    await cluster.waitForNodes(['node-3']);
    expect(await state(plain.id)).toMatchObject({ state: 'stopped', host: 'node-3' });
    // Two of its reconciler's sweeps and more: still one QEMU for the recovered instance, not in node-3's namespace.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(qemuProcessesFor(ha.id)).toHaveLength(1);
    expect(netnsOf(qemuProcessesFor(ha.id)[0]!)).not.toBe(netnsOf('ns', cluster.nodes[2]!.ns));
    expect(await state(ha.id)).toMatchObject({ state: 'running', host: back.host });
  });

  it('terminates every guest on its own node', async () => {
    for (const id of launched) {
      const r = await trpc(cluster.url, token, 'instances.terminate', { tenantId, instanceId: id });
      if (!r.ok) throw new Error(r.message);
    }
    await waitFor('all terminated', () => db.select({ state: instances.state }).from(instances).where(inArray(instances.id, launched)), (rs) => rs.every((r) => r.state === 'terminated'), 120_000);
    expect(launched.flatMap((id) => qemuProcessesFor(id))).toEqual([]);
    // The recovered guest's directory on the shared pool went with it.
    expect(fs.readdirSync(path.join(cluster.sharedPool, 'guests'))).toEqual([]);
    launched = [];
  });
});
