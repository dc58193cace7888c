// Tenant networks with real QEMU guests through the real server: two tenants
// on networks with the same CIDR, addressing by DHCP, names by DNS, isolation,
// anti-spoofing, a port forward, a NIC's rate enforced and billed, recovery of
// the whole data plane after kill -9 of the server, and nothing left behind.
// The guests boot once and are shared by the steps, in order.
import { guestLayout } from '../hypervisor/qemu/layout';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances, usageSegments } from '../db/schema';
import { bridgeName, prefixOf, tapName } from '../hypervisor/net/names';
import { hostTableName } from '../hypervisor/net/nft';
import { parseHardwareReport, SerialSession } from '../hypervisor/qemu/test-support';
import { setQuota } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { hostTagOf, qemuProcessesFor, startServer, teardownHostNetwork, trpc, waitFor, type ServerProcess } from '../test/server-process';
import { createToken } from '../tokens';

type Nic = { id: string; name: string; address: string | null; mac: string; rateMbit: number; mode: string; networkName: string; counters: { rxBytes: number; txBytes: number } | null };
type Tenant = { id: string; token: string };

let t: TestDatabase;
let server: ServerProcess;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-net-'));
fs.chmodSync(dataDir, 0o711);
let A: Tenant;
let B: Tenant;
const guests: Record<'a1' | 'a2' | 'b1', { id: string; tenant: Tenant; nic: Nic; shell: SerialSession }> = {} as never;
let labA = '';
let labB = '';

// 1. Helpers ------------------------------------------------------------------

async function call<T>(tenant: Tenant, pathName: string, input: Record<string, unknown>, kind: 'query' | 'mutation' = 'mutation'): Promise<T> {
  const r = await trpc<T>(server.url, tenant.token, pathName, { tenantId: tenant.id, ...input }, kind);
  if (!r.ok) throw new Error(`${pathName}: ${r.reason} ${r.message}`);
  return r.data;
}

let marks = 0;
/** Run a command on a guest's serial console and return what it printed (the command's own echo excluded). */
async function sh(shell: SerialSession, cmd: string, timeoutMs = 20_000): Promise<string> {
  const n = ++marks;
  const from = shell.output.length;
  // The shell expands the marker; the echoed command line shows it unexpanded.
  const echoed = `"__DONE_$((${n} + 0))__"`;
  shell.send(`${cmd}; echo ${echoed}`);
  await shell.waitFor(new RegExp(`__DONE_${n}__\\r?\\n`), timeoutMs);
  const out = shell.output.slice(from);
  return out.slice(out.indexOf('\n', out.indexOf(echoed)) + 1, out.lastIndexOf(`__DONE_${n}__`));
}

/** A guest's serial shell, wide enough that no command line wraps (the echo of a command is then one line). */
async function openShell(id: string): Promise<SerialSession> {
  const shell = await SerialSession.open(serialSocket(id));
  shell.send('stty cols 1000');
  await sh(shell, 'true');
  return shell;
}

async function launch(tenant: Tenant, name: string, networkId: string, rateMbit = 100) {
  const inst = await call<{ id: string }>(tenant, 'instances.launch', {
    name,
    imageId: 'cirrus-tiny-linux',
    vcpus: 1,
    memoryMiB: 128,
    diskGiB: 1,
    nics: 1,
    interfaces: [{ networkId, rateMbit }],
  });
  return inst.id;
}

const serialSocket = (id: string) => guestLayout(path.join(dataDir, 'guests'), id).serialSocket;
const nicsOf = (tenant: Tenant, instanceId: string) => call<Nic[]>(tenant, 'instances.interfaces', { instanceId }, 'query');

/** Bytes a TCP server sends in `ms`, read on the host: Mbit/s (the guest's `nc` takes a moment to listen again after each client). */
async function measureMbit(port: number, ms: number): Promise<number> {
  for (let tries = 0; ; tries++) {
    try {
      return await measureOnce(port, ms);
    } catch (e) {
      if (tries >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function measureOnce(port: number, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let started = 0;
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('data', (b: Buffer) => {
      if (!started) started = Date.now();
      bytes += b.length;
      if (Date.now() - started >= ms) {
        sock.destroy();
        resolve((bytes * 8) / ((Date.now() - started) / 1000) / 1e6);
      }
    });
    sock.on('error', reject);
    sock.setTimeout(ms + 10_000, () => reject(new Error('no data')));
  });
}

async function httpGet(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return null;
  }
}

/** What of this host's network is in the kernel: our links, namespaces, DHCP servers and rules. */
function kernelFootprint(tag: string) {
  const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => ['b', 'g', 'r', 't', 'i'].some((k) => n.startsWith(prefixOf(k as 'b', tag))));
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((l) => l.startsWith(`cirrus-${tag}-`));
  const dnsmasq = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`/run/cirrus/net-${tag}/`);
      } catch {
        return false;
      }
    });
  let rules = '';
  try {
    const list = (family: string) => execFileSync('nft', ['list', 'table', family, hostTableName(tag)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    rules = list('bridge') + list('ip');
  } catch {
    // no tables: no rules
  }
  const nicRules = rules.split('\n').filter((l) => /jump from_ct|dnat to/.test(l));
  const runDir = `/run/cirrus/net-${tag}`;
  const leases = fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((d) => /^[0-9a-f-]{36}$/.test(d)) : [];
  return { links, namespaces, dnsmasq, nicRules, leases };
}

const bridgeOf = (networkId: string) => bridgeName(hostTagOf(dataDir)!, networkId);

/** A non-loopback IPv4 address of this host (where outsiders reach port forwards), if it has one. */
function hostAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  return null;
}

// 2. Setup --------------------------------------------------------------------

async function tenantWithToken(name: string): Promise<Tenant> {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner, name);
  await setQuota(t.db, tenant.id, {});
  const { secret } = await createToken(t.db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 't' });
  return { id: tenant.id, token: secret };
}

beforeAll(async () => {
  t = await createTestDatabase();
  A = await tenantWithToken('Tenant A');
  B = await tenantWithToken('Tenant B');
  server = await startServer({ databaseUrl: t.url, dataDir });
});

// An "outside" machine: a namespace on a link of the host's own, like an uplink (TEST-NET-2).
const OUTSIDE = { ns: `cx-out-${process.pid}`, host: `cxo${process.pid % 100_000}`, hostAddress: '198.51.100.1', address: '198.51.100.2' };

afterAll(async () => {
  spawnSync('ip', ['netns', 'del', OUTSIDE.ns]);
  spawnSync('ip', ['link', 'del', OUTSIDE.host]);
  await server?.stop();
  const rows = await t.db.select({ id: instances.id }).from(instances);
  for (const r of rows) for (const pid of qemuProcessesFor(r.id)) process.kill(pid, 'SIGKILL');
  for (const g of Object.values(guests)) g.shell.close();
  await teardownHostNetwork(dataDir);
  await t.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// 3. The steps ----------------------------------------------------------------

describe('tenant networks on real guests', { timeout: 240_000 }, () => {
  it('two tenants on the same CIDR: each guest gets its IPAM address by DHCP, reaches its neighbour by address and name, and nothing of the other tenant', async () => {
    labA = (await call<{ id: string }>(A, 'networks.create', { name: 'lab', cidr: '10.20.0.0/24' })).id;
    labB = (await call<{ id: string }>(B, 'networks.create', { name: 'lab', cidr: '10.20.0.0/24' })).id;
    const ids = {
      a1: await launch(A, 'alpha-1', labA),
      a2: await launch(A, 'alpha-2', labA, 20),
      b1: await launch(B, 'beta-1', labB),
    };
    const rows = () => t.db.select().from(instances);
    await waitFor('three running guests', rows, (rs) => Object.values(ids).every((id) => rs.find((r) => r.id === id)?.state === 'running'), 90_000);
    for (const [key, id] of Object.entries(ids) as [keyof typeof guests, string][]) {
      const tenant = key.startsWith('a') ? A : B;
      const [nic] = await nicsOf(tenant, id);
      expect(nic).toMatchObject({ mode: 'bridged', networkName: 'lab' });
      // The guest's own report: the address DHCP gave it is the one the API shows.
      const log = await waitFor(
        `${key}'s hardware report`,
        async () => (await call<{ text: string }>(tenant, 'instances.serialLog', { instanceId: id }, 'query')).text,
        (text) => parseHardwareReport(text) !== null,
        60_000,
      );
      expect(parseHardwareReport(log)!.ips).toEqual([nic!.address]);
      guests[key] = { id, tenant, nic: nic!, shell: await openShell(id) };
    }
    const { a1, a2, b1 } = guests;
    // Same CIDR, separate networks: a1 and b1 were both given the first address.
    expect(a1.nic.address).toBe('10.20.0.2');
    expect(b1.nic.address).toBe('10.20.0.2');
    expect(a2.nic.address).toBe('10.20.0.3');

    for (const g of [a2, b1]) await sh(g.shell, 'mkdir -p /www; hostname > /www/index.html; httpd -p 8080 -h /www');
    expect(await sh(a1.shell, `ping -c 2 -W 2 ${a2.nic.address}`)).toMatch(/2 packets received/);
    const ok = /HTTP\/1\.[01] 200 OK[\s\S]*\balpha-2\b/;
    expect(await sh(a1.shell, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${a2.nic.address} 8080`)).toMatch(ok);
    // By name, through the network's DNS.
    expect(await sh(a1.shell, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 alpha-2 8080`)).toMatch(ok);
    expect(await sh(a1.shell, `nslookup ${a2.id}`)).toContain(a2.nic.address!);

    // Tenant B's guest finds no a2 at its address; A's guests never see b1.
    expect(await sh(b1.shell, `ping -c 2 -W 2 ${a2.nic.address}`)).toMatch(/0 packets received/);
    expect(await sh(b1.shell, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${a2.nic.address} 8080`)).not.toMatch(/alpha-2/);
    expect(await sh(a2.shell, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${b1.nic.address} 8080`)).not.toMatch(/beta-1/);
    expect(await sh(a2.shell, `ping -c 1 -W 2 ${a1.nic.address} > /dev/null; ip neigh show ${a1.nic.address}`)).toContain(a1.nic.mac);
  });

  it('guests reach the outside through the host, masqueraded (the outside has no route back to the tenant range)', async () => {
    const ip = (...args: string[]) => execFileSync('ip', args);
    ip('netns', 'add', OUTSIDE.ns);
    ip('link', 'add', OUTSIDE.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE.ns);
    ip('addr', 'add', `${OUTSIDE.hostAddress}/30`, 'dev', OUTSIDE.host);
    ip('link', 'set', OUTSIDE.host, 'up');
    ip('-n', OUTSIDE.ns, 'addr', 'add', `${OUTSIDE.address}/30`, 'dev', 'eth0');
    ip('-n', OUTSIDE.ns, 'link', 'set', 'eth0', 'up');
    expect(await sh(guests.a1.shell, `ping -c 2 -W 2 ${OUTSIDE.address}`)).toMatch(/2 packets received/);
    expect(await sh(guests.b1.shell, `ping -c 2 -W 2 ${OUTSIDE.address}`)).toMatch(/2 packets received/);
  });

  it('a guest cannot reach the host itself, not even by sending to its bridge at layer 2', async () => {
    const { a1 } = guests;
    const outside = hostAddress();
    if (!outside) return;
    const listener = net.createServer((c) => c.end('host service\n'));
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
    const port = (listener.address() as net.AddressInfo).port;
    try {
      // Through the router: the host drops what comes in from routers.
      expect(await sh(a1.shell, `nc -w 3 ${outside} ${port} < /dev/null`)).not.toMatch(/host service/);
      // Around the router: ask the host by ARP on the bridge, or point the host's address at the bridge's MAC by hand.
      const bridgeMac = execFileSync('cat', [`/sys/class/net/${bridgeOf(labA)}/address`], { encoding: 'utf8' }).trim();
      expect(await sh(a1.shell, `arping -c 2 -w 3 -I eth0 ${outside}`)).toMatch(/Received 0 response/);
      await sh(a1.shell, `ip route add ${outside}/32 dev eth0; ip neigh replace ${outside} lladdr ${bridgeMac} dev eth0`);
      expect(await sh(a1.shell, `nc -w 3 ${outside} ${port} < /dev/null`)).not.toMatch(/host service/);
      // …nor use the host as a router to elsewhere (its bridges carry no routed traffic).
      await sh(a1.shell, `ip route add ${OUTSIDE.address}/32 via ${outside} dev eth0 onlink`);
      expect(await sh(a1.shell, `ping -c 2 -W 2 ${OUTSIDE.address}`)).toMatch(/0 packets received/);
      await sh(a1.shell, `ip route del ${OUTSIDE.address}/32; ip route del ${outside}/32; ip neigh del ${outside} dev eth0`);
      expect(await sh(a1.shell, `ping -c 2 -W 2 ${OUTSIDE.address}`)).toMatch(/2 packets received/);
    } finally {
      listener.close();
    }
  });

  it('a guest that takes another address or another MAC gets nothing through', async () => {
    const { a1, a2 } = guests;
    await sh(a1.shell, 'ip addr add 10.20.0.99/24 dev eth0');
    expect(await sh(a1.shell, `ping -c 2 -W 2 -I 10.20.0.99 ${a2.nic.address}`)).toMatch(/0 packets received/);
    await sh(a1.shell, 'ip addr del 10.20.0.99/24 dev eth0');
    await sh(a1.shell, 'ip link set eth0 address 02:00:00:00:99:99; ip neigh flush all');
    expect(await sh(a1.shell, `ping -c 2 -W 2 ${a2.nic.address}`)).toMatch(/0 packets received/);
    await sh(a1.shell, `ip link set eth0 address ${a1.nic.mac}; ip neigh flush all`);
    expect(await sh(a1.shell, `ping -c 2 -W 2 ${a2.nic.address}`)).toMatch(/2 packets received/);
  });

  it('a port forward reaches the guest’s server from the host, other networks cannot use it, and deleting it closes it', async () => {
    const { a2, b1 } = guests;
    const fwd = await call<{ id: string; hostPort: number; endpoint: string }>(A, 'portForwards.create', { instanceId: a2.id, guestPort: 8080 });
    await waitFor('the forward answers', () => httpGet(fwd.hostPort), (body) => body?.trim() === 'alpha-2', 15_000);
    const outside = hostAddress();
    if (outside) {
      // From another tenant's network the host's port is not a way into this one (no forwarding between networks).
      expect(await sh(b1.shell, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${outside} ${fwd.hostPort}`)).not.toMatch(/alpha-2/);
    }
    await call(A, 'portForwards.delete', { portForwardId: fwd.id });
    await waitFor('the forward closed', () => httpGet(fwd.hostPort), (body) => body === null, 15_000);
  });

  it('a NIC capped at 20 Mbit/s sends within 15 % of it; raised to 50 on the running guest it sends at 50; the ledger bills each rate for its seconds', async () => {
    const { a2 } = guests;
    await sh(a2.shell, 'killall httpd; (while true; do nc -l -p 8081 < /dev/zero; done) > /dev/null 2>&1 & echo $! > /tmp/stream.pid');
    const fwd = await call<{ id: string; hostPort: number }>(A, 'portForwards.create', { instanceId: a2.id, guestPort: 8081 });
    await waitFor('the stream forward', () => measureOnce(fwd.hostPort, 300).catch(() => 0), (m) => m > 0, 15_000);
    const at20 = await measureMbit(fwd.hostPort, 5_000);
    console.log(`[network test] capped at 20 Mbit/s: ${at20.toFixed(1)} Mbit/s`);
    expect(at20).toBeGreaterThan(17);
    expect(at20).toBeLessThan(23);

    const before = Date.now();
    await call(A, 'instances.setInterfaceRate', { instanceId: a2.id, interfaceId: a2.nic.id, rateMbit: 50 });
    const tap = tapName(hostTagOf(dataDir)!, a2.nic.id);
    await waitFor('tc at 50 Mbit/s', () => execFileSync('tc', ['-j', 'qdisc', 'show', 'dev', tap], { encoding: 'utf8' }), (j) => j.includes('"rate":6250000'), 15_000);
    const at50 = await measureMbit(fwd.hostPort, 5_000);
    console.log(`[network test] raised to 50 Mbit/s: ${at50.toFixed(1)} Mbit/s (set ${Date.now() - before} ms before the end)`);
    expect(at50).toBeGreaterThan(42.5);
    expect(at50).toBeLessThan(57.5);
    expect(qemuProcessesFor(a2.id)).toHaveLength(1); // no restart

    const segs = await t.db
      .select()
      .from(usageSegments)
      .where(and(eq(usageSegments.instanceId, a2.id), eq(usageSegments.resource, 'bandwidth_mbit')))
      .orderBy(asc(usageSegments.startedAt));
    expect(segs.map((s) => [s.quantity, s.endedAt === null])).toEqual([
      [20, false],
      [50, true],
    ]);
    expect(segs[1]!.startedAt.getTime()).toBe(segs[0]!.endedAt!.getTime());
    const month = new Date().toISOString().slice(0, 7);
    const asked = Date.now();
    const inv = await call<{ lines: { instanceId: string; resource: string; unitSeconds: number }[] }>(A, 'billing.invoice', { month }, 'query');
    const answered = Date.now();
    const line = inv.lines.find((l) => l.instanceId === a2.id && l.resource === 'bandwidth_mbit')!;
    // 20 Mbit/s for exactly the seconds before the change; 50 from then until the invoice's now (between asking and the answer).
    const closed = 20 * ((segs[0]!.endedAt!.getTime() - segs[0]!.startedAt.getTime()) / 1000);
    const open = (until: number) => 50 * ((until - segs[1]!.startedAt.getTime()) / 1000);
    expect(line.unitSeconds).toBeGreaterThanOrEqual(closed + open(asked) - 50); // a second of slack between the two clocks
    expect(line.unitSeconds).toBeLessThanOrEqual(closed + open(answered) + 50);
    await call(A, 'portForwards.delete', { portForwardId: fwd.id });
  });

  it('after kill -9 of the server and the removal of every bridge, tap, rule and DHCP server, running guests are connected again within 30 s of the restart', async () => {
    const { a1, a2 } = guests;
    const fwd = await call<{ id: string; hostPort: number }>(A, 'portForwards.create', { instanceId: a2.id, guestPort: 8080 });
    await sh(a2.shell, 'kill $(cat /tmp/stream.pid); killall nc; httpd -p 8080 -h /www');
    await waitFor('the forward answers', () => httpGet(fwd.hostPort), (body) => body?.trim() === 'alpha-2', 15_000);
    const pids = [a1, a2].map((g) => qemuProcessesFor(g.id));
    const tag = hostTagOf(dataDir)!;
    await server.kill9();
    // Wipe the data plane: DHCP servers, router namespaces, bridges, veths, IFBs, taps and rules.
    const before = kernelFootprint(tag);
    expect(before.links.length).toBeGreaterThan(0);
    for (const pid of before.dnsmasq) process.kill(Number(pid), 'SIGKILL');
    const quiet = { stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[] };
    for (const ns of before.namespaces) execFileSync('ip', ['netns', 'del', ns], quiet);
    for (const l of before.links) {
      try {
        execFileSync('ip', ['link', 'del', l], { stdio: 'ignore' });
      } catch {
        // a veth whose peer went with its namespace is gone already
      }
    }
    for (const family of ['ip', 'bridge']) execFileSync('nft', ['delete', 'table', family, hostTableName(tag)], quiet);
    const wiped = kernelFootprint(tag);
    expect([wiped.links, wiped.namespaces, wiped.dnsmasq, wiped.nicRules]).toEqual([[], [], [], []]);
    expect(await sh(a1.shell, `ping -c 1 -W 2 ${a2.nic.address}`)).toMatch(/0 packets received/);

    server = await startServer({ databaseUrl: t.url, dataDir });
    const restarted = Date.now();
    await waitFor(
      'a1 reaches a2 again',
      () => sh(a1.shell, `ping -c 1 -W 1 ${a2.nic.address}`),
      (out) => /1 packets received/.test(out),
      30_000,
    );
    await waitFor('the forward answers again', () => httpGet(fwd.hostPort), (body) => body?.trim() === 'alpha-2', Math.max(1_000, 30_000 - (Date.now() - restarted)));
    console.log(`[network test] connectivity back ${Date.now() - restarted} ms after the restart`);
    expect(Date.now() - restarted).toBeLessThan(30_000);
    // The same guest processes: restored around them, not restarted.
    expect([a1, a2].map((g) => qemuProcessesFor(g.id))).toEqual(pids);
  });

  it('terminating the instances and deleting the networks leave no tap, bridge, rule, DHCP server or lease', async () => {
    const tag = hostTagOf(dataDir)!;
    for (const g of Object.values(guests)) await call(g.tenant, 'instances.terminate', { instanceId: g.id });
    await waitFor('all terminated', () => t.db.select().from(instances), (rs) => rs.every((r) => r.state === 'terminated'), 60_000);
    for (const [tenant, id] of [
      [A, labA],
      [B, labB],
    ] as const) {
      await call(tenant, 'networks.delete', { networkId: id });
    }
    const left = await waitFor(
      'the host network emptied',
      () => kernelFootprint(tag),
      (k) => k.links.length + k.namespaces.length + k.dnsmasq.length + k.nicRules.length + k.leases.length === 0,
      20_000,
    );
    expect(left).toEqual({ links: [], namespaces: [], dnsmasq: [], nicRules: [], leases: [] });
    for (const g of Object.values(guests)) expect(qemuProcessesFor(g.id)).toEqual([]);
  });
});
