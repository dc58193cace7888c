// The three-node cluster on this machine (local-cluster.ts): a control plane
// with no guests of its own, three compute nodes each in a network namespace
// of its own, one PostgreSQL. Launches go through the control plane's API and
// spread over the nodes; each guest's QEMU runs in its node's namespace; its
// console, serial log and screen reach the browser's side through the control
// plane, relayed over the node channel.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../db/client';
import { freePort } from '../db/embedded';
import { hosts, instances } from '../db/schema';
import { instanceScreenshot } from '../console/screenshots';
import { inspectPng, testImagesDir } from '../hypervisor/qemu/test-support';
import { setQuota } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { qemuProcessesFor, trpc, waitFor } from '../test/server-process';
import { createToken } from '../tokens';
import { clusterKey } from './channel';
import { setClusterContext } from './guests';
import { startLocalCluster, type LocalCluster } from './local-cluster';

let cluster: LocalCluster;
let db: Db;
let closeDb: () => Promise<void>;
let dir: string;
let token: string;
let tenantId: string;
let launched: string[] = [];

const netnsOf = (pid: number | 'ns', ns?: string) => fs.statSync(pid === 'ns' ? `/run/netns/${ns}` : `/proc/${pid}/ns/net`).ino;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-cluster-'));
  fs.chmodSync(dir, 0o711);
  cluster = await startLocalCluster({ dir: path.join(dir, 'cluster'), port: await freePort(), imagesDir: testImagesDir(), log: () => undefined });
  const made = createDb(cluster.databaseUrl);
  db = made.db;
  closeDb = () => made.pool.end();
  const owner = await makeUser(db);
  const tenant = await makeTenant(db, owner, 'Cluster tests');
  tenantId = tenant.id;
  await setQuota(db, tenantId, { instances: 12, vcpus: 12, memoryMiB: 4096 });
  token = (await createToken(db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 'cluster' })).secret;
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  // Nothing outlives the tests, even if stop went wrong: any guest of theirs is killed.
  for (const id of launched) for (const pid of qemuProcessesFor(id)) process.kill(pid, 'SIGKILL');
  await closeDb?.();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 120_000);

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

  it('terminates every guest on its own node', async () => {
    for (const id of launched) {
      const r = await trpc(cluster.url, token, 'instances.terminate', { tenantId, instanceId: id });
      if (!r.ok) throw new Error(r.message);
    }
    await waitFor('all terminated', () => db.select({ state: instances.state }).from(instances).where(inArray(instances.id, launched)), (rs) => rs.every((r) => r.state === 'terminated'), 120_000);
    expect(launched.flatMap((id) => qemuProcessesFor(id))).toEqual([]);
    launched = [];
  });
});
