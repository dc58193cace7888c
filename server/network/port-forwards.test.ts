import crypto from 'node:crypto';
import net from 'node:net';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicHostName } from '../config/public-host';
import { auditLog, hosts, networkInterfaces, portForwards, usageSegments } from '../db/schema';
import { validateHostNetworkSpec } from '../hypervisor/net/spec';
import { hostNetworkSpec } from './host-spec';
import type { FakeHypervisor } from '../hypervisor';
import { tenantUsage } from '../quotas';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
  // Port forwards need bridged NICs: this host builds tenant networks.
  await t.db.update(hosts).set({ networkMode: 'bridged', networkNote: null }).where(eq(hosts.id, hostId));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function tenantWithOwner() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

/** A tenant with one instance on the bridged host. */
async function withInstance(spec: Partial<typeof tiny> = {}) {
  const s = await tenantWithOwner();
  const inst = await s.api.instances.launch({ tenantId: s.tenant.id, ...tiny, name: 'web', ...spec });
  return { ...s, inst, pf: s.api.portForwards, input: { tenantId: s.tenant.id, instanceId: inst.id } };
}

/** The instance's port_forward segments, timestamps as PostgreSQL's own text (microseconds). */
async function forwardSegments(instanceId: string) {
  return t.db
    .select({ quantity: usageSegments.quantity, from: sql<string>`${usageSegments.startedAt}::text`, to: sql<string | null>`${usageSegments.endedAt}::text` })
    .from(usageSegments)
    .where(and(eq(usageSegments.instanceId, instanceId), eq(usageSegments.resource, 'port_forward')))
    .orderBy(asc(usageSegments.startedAt), asc(usageSegments.id));
}

describe('port forwards', () => {
  it('allocate the first free host port of the default range, 20000–29999, and say where to connect', async () => {
    const { tenant, inst, pf, input } = await withInstance();
    expect(await callerAs(t.db, await makeUser(t.db, { isAdmin: true })).admin.networks.portRange()).toEqual({ from: 20_000, to: 29_999, forwards: 0, outside: 0 });
    const ssh = await pf.create({ ...input, guestPort: 22 });
    expect(ssh).toMatchObject({ instanceId: inst.id, instanceName: 'web', hostPort: 20_000, guestPort: 22, protocol: 'tcp', guestAddress: '10.0.0.2', position: 0 });
    expect(ssh.endpoint).toBe(`${publicHostName()}:20000`);
    expect((await pf.create({ ...input, guestPort: 80 })).hostPort).toBe(20_001);
    expect((await pf.create({ ...input, guestPort: 443, hostPort: 20_003 })).hostPort).toBe(20_003);
    expect((await pf.create({ ...input, guestPort: 8080 })).hostPort).toBe(20_002); // the gap first
    expect((await pf.create({ ...input, guestPort: 8443 })).hostPort).toBe(20_004);
    await pf.delete({ tenantId: tenant.id, portForwardId: ssh.id });
    expect((await pf.create({ ...input, guestPort: 2222 })).hostPort).toBe(20_000);
    expect((await pf.list({ tenantId: tenant.id })).map((f) => [f.hostPort, f.guestPort])).toEqual([
      [20_000, 2222],
      [20_001, 80],
      [20_002, 8080],
      [20_003, 443],
      [20_004, 8443],
    ]);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'portForward.create')));
    expect(audit).toHaveLength(6);
    expect(audit.find((a) => a.targetId === ssh.id)?.detail).toEqual({ instanceId: inst.id, hostPort: 20_000, guestPort: 22, interface: 'eth0' });
  });

  it('refuses an explicit host port outside the range, beside hostPort', async () => {
    const { pf, input } = await withInstance();
    for (const hostPort of [19_999, 30_000, 1024, 80]) {
      const message = `Host port ${hostPort} is outside the range for port forwards, 20000–29999.`;
      expect(await refusal(pf.create({ ...input, guestPort: 22, hostPort }))).toEqual({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT', message, fieldErrors: { hostPort: [message] } });
    }
    expect((await refusal(pf.create({ ...input, guestPort: 22, hostPort: 70_000 }))).fieldErrors).toEqual({ hostPort: ['A host port is between 1 and 65535.'] });
    expect((await refusal(pf.create({ ...input, guestPort: 0 }))).fieldErrors).toEqual({ guestPort: ['A guest port is between 1 and 65535.'] });
    expect((await refusal(pf.create({ ...input, guestPort: 22.5 }))).fieldErrors).toEqual({ guestPort: ['Enter a whole guest port number.'] });
    expect(await t.db.select().from(portForwards).where(eq(portForwards.instanceId, input.instanceId))).toEqual([]);
  });

  it('refuses a host port someone else holds, and the same guest port of one NIC twice', async () => {
    const a = await withInstance();
    const b = await withInstance({ nics: 2 });
    await a.pf.create({ ...a.input, guestPort: 22, hostPort: 25_000 });
    const taken = 'Host port 25000 is already taken; leave it empty to get a free one.';
    expect(await refusal(b.pf.create({ ...b.input, guestPort: 22, hostPort: 25_000 }))).toEqual({ code: 'CONFLICT', reason: 'CONFLICT', message: taken, fieldErrors: { hostPort: [taken] } });

    const first = await b.pf.create({ ...b.input, guestPort: 22 });
    const twice = `Port 22 of web is already forwarded from host port ${first.hostPort}.`;
    expect(await refusal(b.pf.create({ ...b.input, guestPort: 22 }))).toEqual({ code: 'CONFLICT', reason: 'CONFLICT', message: twice, fieldErrors: { guestPort: [twice] } });
    // The same guest port of the instance's other NIC is another forward.
    const [, eth1] = await b.api.instances.interfaces(b.input);
    expect(await b.pf.create({ ...b.input, guestPort: 22, interfaceId: eth1!.id })).toMatchObject({ position: 1, guestAddress: '10.0.0.3' });
    expect(await refusal(b.pf.create({ ...b.input, guestPort: 22, interfaceId: crypto.randomUUID() }))).toMatchObject({
      reason: 'NOT_FOUND',
      message: 'web has no such network interface.',
      fieldErrors: { interfaceId: ['web has no such network interface.'] },
    });
  });

  it('holds the port-forward quota across the tenant’s instances', async () => {
    const { api, tenant, pf, input } = await withInstance();
    await setQuota(t.db, tenant.id, { portForwards: 2 });
    const other = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'other' });
    await pf.create({ ...input, guestPort: 22 });
    await pf.create({ tenantId: tenant.id, instanceId: other.id, guestPort: 22 });
    const message = 'Port forwards quota exceeded: this port forward needs 1, the tenant uses 2 of its 2 limit, so 0 are left.';
    expect(await refusal(pf.create({ ...input, guestPort: 80 }))).toEqual({ code: 'FORBIDDEN', reason: 'QUOTA_EXCEEDED', message, fieldErrors: { guestPort: [message] } });
    expect((await tenantUsage(t.db, tenant.id)).portForwards).toBe(2);
    // Terminating an instance gives its forwards back.
    await api.instances.terminate({ tenantId: tenant.id, instanceId: other.id });
    expect((await tenantUsage(t.db, tenant.id)).portForwards).toBe(1);
    await expect(pf.create({ ...input, guestPort: 80 })).resolves.toMatchObject({ guestPort: 80 });
  });

  it('are refused on a user-mode NIC, saying why', async () => {
    await t.db.update(hosts).set({ networkMode: 'user', networkNote: 'nft is not installed on this host.' }).where(eq(hosts.id, hostId));
    let legacy;
    try {
      legacy = await withInstance({ name: 'legacy' });
    } finally {
      await t.db.update(hosts).set({ networkMode: 'bridged', networkNote: null }).where(eq(hosts.id, hostId));
    }
    expect((await legacy.api.instances.interfaces(legacy.input)).map((n) => n.mode)).toEqual(['user']);
    await t.db.update(hosts).set({ networkNote: 'nft is not installed on this host.' }).where(eq(hosts.id, hostId));
    try {
      expect(await refusal(legacy.pf.create({ ...legacy.input, guestPort: 22 }))).toEqual({
        code: 'CONFLICT',
        reason: 'INVALID_STATE',
        message: 'Port forwards need a tenant network; eth0 of legacy uses user-mode networking. nft is not installed on this host.',
        fieldErrors: null,
      });
    } finally {
      await t.db.update(hosts).set({ networkNote: null }).where(eq(hosts.id, hostId));
    }
    expect((await refusal(legacy.pf.create({ ...legacy.input, guestPort: 22 }))).message).toBe('Port forwards need a tenant network; eth0 of legacy uses user-mode networking.');
    expect(await t.db.select().from(portForwards).where(eq(portForwards.instanceId, legacy.inst.id))).toEqual([]);
  });

  it('are removed when the instance is terminated, and its host ports are free again', async () => {
    // Not drained: without a network agent the start job rewires NICs to user-mode (server/network/host-spec.ts guestNics).
    const { api, tenant, inst, pf, input } = await withInstance();
    const one = await pf.create({ ...input, guestPort: 22 });
    await pf.create({ ...input, guestPort: 80 });
    await api.instances.terminate(input);
    expect(await pf.list({ tenantId: tenant.id, instanceId: inst.id })).toEqual([]);
    expect(await t.db.select().from(portForwards).where(eq(portForwards.instanceId, inst.id))).toEqual([]);
    expect((await forwardSegments(inst.id)).filter((s) => s.to === null)).toEqual([]);
    expect(await refusal(pf.create({ ...input, guestPort: 443 }))).toMatchObject({ reason: 'INVALID_STATE', message: `web is being terminated; its network cannot change.` });
    await drain();
    expect((await refusal(pf.create({ ...input, guestPort: 443 }))).message).toBe(`web is terminated; its network cannot change.`);
    const next = await withInstance();
    await expect(next.pf.create({ ...next.input, guestPort: 22, hostPort: one.hostPort })).resolves.toMatchObject({ hostPort: one.hostPort });
  });

  it('meter port_forward by the count: each change closes the open segment and opens the next at the same instant', async () => {
    const { tenant, inst, pf, input } = await withInstance();
    expect(await forwardSegments(inst.id)).toEqual([]);
    const a = await pf.create({ ...input, guestPort: 22 });
    const b = await pf.create({ ...input, guestPort: 80 });
    await pf.delete({ tenantId: tenant.id, portForwardId: a.id });
    let segs = await forwardSegments(inst.id);
    expect(segs.map((s) => s.quantity)).toEqual([1, 2, 1]);
    expect(segs[0]!.to).toBe(segs[1]!.from);
    expect(segs[1]!.to).toBe(segs[2]!.from);
    expect(segs[2]!.to).toBeNull();
    expect(segs[0]!.from < segs[1]!.from && segs[1]!.from < segs[2]!.from).toBe(true);
    await pf.delete({ tenantId: tenant.id, portForwardId: b.id });
    segs = await forwardSegments(inst.id);
    expect(segs.map((s) => s.quantity)).toEqual([1, 2, 1]);
    expect(segs.every((s) => s.to !== null)).toBe(true);
    expect(await refusal(pf.delete({ tenantId: tenant.id, portForwardId: b.id }))).toMatchObject({ reason: 'NOT_FOUND', message: 'That port forward was not found.' });
  });

  it('another tenant can neither see, make nor delete your forwards', async () => {
    const mine = await withInstance();
    const f = await mine.pf.create({ ...mine.input, guestPort: 22 });
    const stranger = await tenantWithOwner();
    const theirs = { tenantId: stranger.tenant.id, instanceId: mine.inst.id };
    expect(await refusal(stranger.api.portForwards.create({ ...theirs, guestPort: 23 }))).toMatchObject({ reason: 'NOT_FOUND', message: `Instance ${mine.inst.id} was not found.` });
    expect(await refusal(stranger.api.portForwards.delete({ tenantId: stranger.tenant.id, portForwardId: f.id }))).toMatchObject({ reason: 'NOT_FOUND' });
    expect(await stranger.api.portForwards.list({ tenantId: stranger.tenant.id })).toEqual([]);
    expect((await mine.pf.list({ tenantId: mine.tenant.id })).map((x) => x.id)).toEqual([f.id]);
  });

  it('never hand out a host port a service on the host listens on: their DNAT would catch the host’s own connections to it', async () => {
    const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const busy = (listener.address() as net.AddressInfo).port;
    const before = await admin.admin.networks.portRange();
    try {
      await admin.admin.networks.setPortRange({ from: busy, to: busy + 1 });
      const a = await withInstance();
      const inUse = `Host port ${busy} is in use by a service on the host; choose another, or leave it empty to get a free one.`;
      expect(await refusal(a.pf.create({ ...a.input, guestPort: 22, hostPort: busy }))).toMatchObject({ reason: 'CONFLICT', fieldErrors: { hostPort: [inUse] } });
      expect(await a.pf.create({ ...a.input, guestPort: 22 })).toMatchObject({ hostPort: busy + 1 });
    } finally {
      listener.close();
      await admin.admin.networks.setPortRange({ from: before.from, to: before.to });
    }
  });

  it('stay out of the host’s network spec while their NIC is user-mode, so one such forward cannot fail the whole host', async () => {
    const a = await withInstance({ name: 'flip' });
    const f = await a.pf.create({ ...a.input, guestPort: 8080 });
    const forwardsOf = async () => (await hostNetworkSpec(t.db, hostId, '0a1')).spec.networks.flatMap((n) => n.forwards.map((x) => x.hostPort));
    expect(await forwardsOf()).toContain(f.hostPort);
    // Another NIC on the same network stays bridged, so the network is still in the spec.
    const [nic] = await a.api.instances.interfaces(a.input);
    await t.db.update(networkInterfaces).set({ mode: 'user' }).where(eq(networkInterfaces.id, nic!.id));
    try {
      expect(await forwardsOf()).not.toContain(f.hostPort);
      const spec = await hostNetworkSpec(t.db, hostId, '0a1');
      expect(() => validateHostNetworkSpec(spec.spec)).not.toThrow();
    } finally {
      await t.db.update(networkInterfaces).set({ mode: 'bridged' }).where(eq(networkInterfaces.id, nic!.id));
    }
  });
});
