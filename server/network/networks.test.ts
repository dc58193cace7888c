import crypto from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, instances, networkInterfaces, networks } from '../db/schema';
import { macAddress } from '../hypervisor/spec';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, { cpus: 1024 }));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function tenantWithOwner(name = 'Tenant') {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner, name);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

const liveNicsOn = (networkId: string) =>
  t.db
    .select({ instanceId: networkInterfaces.instanceId, address: sql<string>`host(${networkInterfaces.address})` })
    .from(networkInterfaces)
    .where(and(eq(networkInterfaces.networkId, networkId), isNull(networkInterfaces.releasedAt)))
    .orderBy(asc(networkInterfaces.address));

describe('networks', () => {
  it('every new tenant has exactly one default network, 10.0.0.0/24, and two tenants may both have it', async () => {
    const a = await tenantWithOwner('A');
    const b = await tenantWithOwner('B');
    for (const { tenant, api } of [a, b]) {
      const list = await api.networks.list({ tenantId: tenant.id });
      expect(list).toEqual([
        expect.objectContaining({ tenantId: tenant.id, name: 'default', cidr: '10.0.0.0/24', gateway: '10.0.0.1', isDefault: true, addressesUsed: 0, addressesTotal: 253 }),
      ]);
      expect(await t.db.select({ id: networks.id }).from(networks).where(eq(networks.tenantId, tenant.id))).toHaveLength(1);
    }
    const [na] = await a.api.networks.list({ tenantId: a.tenant.id });
    const [nb] = await b.api.networks.list({ tenantId: b.tenant.id });
    expect(na!.id).not.toBe(nb!.id);
    expect(na!.vxlanId).not.toBe(nb!.vxlanId);
    // The same range twice across tenants, for any range.
    await a.api.networks.create({ tenantId: a.tenant.id, name: 'lab', cidr: '192.168.50.0/24' });
    await expect(b.api.networks.create({ tenantId: b.tenant.id, name: 'lab', cidr: '192.168.50.0/24' })).resolves.toMatchObject({ cidr: '192.168.50.0/24' });
  });

  it('creates a network with its gateway, audited; without a CIDR it gets the first free /24', async () => {
    const { tenant, api } = await tenantWithOwner();
    const lab = await api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '172.16.4.0/22' });
    expect(lab).toMatchObject({ name: 'lab', cidr: '172.16.4.0/22', gateway: '172.16.4.1', isDefault: false, addressesUsed: 0, addressesTotal: 1021, attached: [] });
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'network.create'), eq(auditLog.targetId, lab.id)));
    expect(audit).toEqual([expect.objectContaining({ tenantId: tenant.id, detail: { name: 'lab', cidr: '172.16.4.0/22' } })]);
    expect(await api.networks.proposeCidr({ tenantId: tenant.id })).toEqual({ cidr: '10.0.1.0/24' });
    expect(await api.networks.create({ tenantId: tenant.id, name: 'auto' })).toMatchObject({ cidr: '10.0.1.0/24', gateway: '10.0.1.1' });
    expect(await api.networks.proposeCidr({ tenantId: tenant.id })).toEqual({ cidr: '10.0.2.0/24' });
    expect((await api.networks.list({ tenantId: tenant.id })).map((n) => n.name)).toEqual(['default', 'auto', 'lab']); // default first, then by name
  });

  it('refuses a CIDR overlapping another of the tenant’s networks, beside the field, naming that network', async () => {
    const { tenant, api } = await tenantWithOwner();
    await api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '10.5.0.0/16' });
    const cases: [string, string][] = [
      ['10.0.0.0/16', '10.0.0.0/16 overlaps “default” (10.0.0.0/24); a tenant’s networks cannot share addresses.'],
      ['10.0.0.128/25', '10.0.0.128/25 overlaps “default” (10.0.0.0/24); a tenant’s networks cannot share addresses.'],
      ['10.5.3.16/28', '10.5.3.16/28 overlaps “lab” (10.5.0.0/16); a tenant’s networks cannot share addresses.'],
    ];
    for (const [cidr, message] of cases) {
      expect(await refusal(api.networks.create({ tenantId: tenant.id, name: 'other', cidr }))).toEqual({
        code: 'CONFLICT',
        reason: 'CONFLICT',
        message,
        fieldErrors: { cidr: [message] },
      });
    }
    // Neighbours are fine.
    await expect(api.networks.create({ tenantId: tenant.id, name: 'next', cidr: '10.6.0.0/16' })).resolves.toMatchObject({ cidr: '10.6.0.0/16' });
    expect(await api.networks.list({ tenantId: tenant.id })).toHaveLength(3);
  });

  it.each([
    ['10.0.0.0/8', 'A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/8 is a /8.'],
    ['10.1.0.0/29', 'A network is between /16 (65,533 addresses for instances) and /28 (13); 10.1.0.0/29 is a /29.'],
    ['8.8.8.0/24', '8.8.8.0/24 is not a private range: use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).'],
    ['10.1.0.1/24', '10.1.0.1/24 has host bits set; the network is 10.1.0.0/24.'],
    ['10.1.0.0', 'Write the range as an IPv4 CIDR, like 10.0.0.0/24.'],
  ])('refuses %s with BAD_REQUEST and a field error on cidr', async (cidr, message) => {
    const { tenant, api } = await tenantWithOwner();
    expect(await refusal(api.networks.create({ tenantId: tenant.id, name: 'bad', cidr }))).toEqual({
      code: 'BAD_REQUEST',
      reason: 'INVALID_INPUT',
      message: `cidr: ${message}`,
      fieldErrors: { cidr: [message] },
    });
    expect(await api.networks.list({ tenantId: tenant.id })).toHaveLength(1);
  });

  it('refuses a name already taken (whatever its case) and a name that is not one', async () => {
    const { tenant, api } = await tenantWithOwner();
    const message = 'A network named “Default” already exists.';
    expect(await refusal(api.networks.create({ tenantId: tenant.id, name: 'Default', cidr: '10.9.0.0/24' }))).toEqual({
      code: 'CONFLICT',
      reason: 'CONFLICT',
      message,
      fieldErrors: { name: [message] },
    });
    expect((await refusal(api.networks.create({ tenantId: tenant.id, name: 'two words' }))).fieldErrors).toEqual({
      name: ['Use letters, digits, dots, dashes and underscores; start with a letter or digit.'],
    });
  });

  it('holds the networks quota (the default network counts)', async () => {
    const { tenant, api } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, { networks: 2 });
    await api.networks.create({ tenantId: tenant.id, name: 'second' });
    const message = 'Networks quota exceeded: this network needs 1, the tenant uses 2 of its 2 limit, so 0 are left.';
    expect(await refusal(api.networks.create({ tenantId: tenant.id, name: 'third' }))).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      message,
      fieldErrors: { name: [message] },
    });
    expect(await api.networks.list({ tenantId: tenant.id })).toHaveLength(2);
  });

  it('another tenant sees none of your networks', async () => {
    const { tenant, api } = await tenantWithOwner();
    const lab = await api.networks.create({ tenantId: tenant.id, name: 'lab' });
    const stranger = await tenantWithOwner();
    expect((await refusal(stranger.api.networks.get({ tenantId: stranger.tenant.id, networkId: lab.id }))).reason).toBe('NOT_FOUND');
    expect((await refusal(stranger.api.networks.delete({ tenantId: stranger.tenant.id, networkId: lab.id }))).reason).toBe('NOT_FOUND');
    expect((await refusal(stranger.api.networks.list({ tenantId: tenant.id }))).reason).toBe('NOT_FOUND');
  });
});

describe('addresses at launch', () => {
  it('hands out addresses from .2 up in order, with MAC = macAddress(instance, position) and the default rate', async () => {
    const { tenant, api } = await tenantWithOwner();
    const [def] = await api.networks.list({ tenantId: tenant.id });
    const first = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'first', nics: 2 });
    const second = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'second' });
    const nics = await api.instances.interfaces({ tenantId: tenant.id, instanceId: first.id });
    expect(nics.map((n) => [n.name, n.position, n.networkId, n.networkName, n.cidr, n.address, n.mac, n.rateMbit, n.mode])).toEqual([
      ['eth0', 0, def!.id, 'default', '10.0.0.0/24', '10.0.0.2', macAddress(first.id, 0), 100, 'user'],
      ['eth1', 1, def!.id, 'default', '10.0.0.0/24', '10.0.0.3', macAddress(first.id, 1), 100, 'user'],
    ]);
    expect(nics.map((n) => n.note)).toEqual(['The test host builds no tenant networks.', 'The test host builds no tenant networks.']); // the host's own reason
    expect(await liveNicsOn(def!.id)).toEqual([
      { instanceId: first.id, address: '10.0.0.2' },
      { instanceId: first.id, address: '10.0.0.3' },
      { instanceId: second.id, address: '10.0.0.4' },
    ]);
    const net = await api.networks.get({ tenantId: tenant.id, networkId: def!.id });
    expect(net.addressesUsed).toBe(3);
    expect((await api.networks.list({ tenantId: tenant.id })).map((n) => [n.name, n.addressesUsed, n.addressesTotal])).toEqual([['default', 3, 253]]);
    expect(net.attached.map((a) => [a.name, a.address, a.state])).toEqual([
      ['first', '10.0.0.2', 'pending'],
      ['first', '10.0.0.3', 'pending'],
      ['second', '10.0.0.4', 'pending'],
    ]);
  });

  it('puts each NIC on the network and at the rate asked for', async () => {
    const { tenant, api } = await tenantWithOwner();
    const lab = await api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '192.168.10.0/28' });
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, nics: 3, interfaces: [{ networkId: lab.id, rateMbit: 50 }, {}, { networkId: lab.id }] });
    const nics = await api.instances.interfaces({ tenantId: tenant.id, instanceId: inst.id });
    expect(nics.map((n) => [n.name, n.networkName, n.address, n.rateMbit])).toEqual([
      ['eth0', 'lab', '192.168.10.2', 50],
      ['eth1', 'default', '10.0.0.2', 100],
      ['eth2', 'lab', '192.168.10.3', 100],
    ]);
    expect((await api.quotas.get({ tenantId: tenant.id })).find((q) => q.resource === 'bandwidthMbit')?.used).toBe(250);
  });

  it('refuses an unknown network and another tenant’s network beside that interface, and writes nothing', async () => {
    const { tenant, api } = await tenantWithOwner();
    const stranger = await tenantWithOwner();
    const [theirs] = await stranger.api.networks.list({ tenantId: stranger.tenant.id });
    const message = 'That network was not found; choose one of the tenant’s networks.';
    for (const networkId of [crypto.randomUUID(), theirs!.id]) {
      expect(await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, nics: 2, interfaces: [{}, { networkId }] }))).toEqual({
        code: 'NOT_FOUND',
        reason: 'NOT_FOUND',
        message,
        fieldErrors: { 'interfaces.1.networkId': [message] },
      });
    }
    expect(await t.db.select().from(instances).where(eq(instances.tenantId, tenant.id))).toEqual([]);
    expect(await t.db.select().from(networkInterfaces).where(eq(networkInterfaces.tenantId, tenant.id))).toEqual([]);
    expect(await liveNicsOn(theirs!.id)).toEqual([]);
    // One entry per NIC, or none.
    expect((await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, nics: 2, interfaces: [{}] }))).fieldErrors).toEqual({
      interfaces: ['Give each network interface its network and rate (one entry per interface).'],
    });
  });

  it('100 concurrent launches onto one /26: exactly 61 get distinct addresses, 39 hear the network is full; a terminate frees one', { timeout: 180_000 }, async () => {
    const { tenant, owner, api } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, { instances: 200 });
    const burst = await api.networks.create({ tenantId: tenant.id, name: 'burst', cidr: '10.9.0.0/26' });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callerAs(t.db, owner)
          .instances.launch({ tenantId: tenant.id, ...tiny, name: `burst-${i}`, interfaces: [{ networkId: burst.id }] })
          .then((inst) => ({ ok: true as const, inst }), async (e: unknown) => ({ ok: false as const, why: await refusal(Promise.reject(e)) })),
      ),
    );
    const accepted = results.flatMap((r) => (r.ok ? [r.inst] : []));
    const refused = results.flatMap((r) => (r.ok ? [] : [r.why]));
    expect(accepted).toHaveLength(61);
    const full = 'Network “burst” (10.9.0.0/26) is full: all 61 of its addresses are in use. Choose another network or terminate an instance on it.';
    expect(refused).toHaveLength(39);
    for (const why of refused) expect(why).toEqual({ code: 'CONFLICT', reason: 'INSUFFICIENT_CAPACITY', message: full, fieldErrors: { 'interfaces.0.networkId': [full] } });

    const live = await liveNicsOn(burst.id);
    expect(live).toHaveLength(61);
    expect(new Set(live.map((n) => n.address)).size).toBe(61);
    expect(new Set(live.map((n) => n.address))).toEqual(new Set(Array.from({ length: 61 }, (_, i) => `10.9.0.${i + 2}`)));
    expect(new Set(live.map((n) => n.instanceId))).toEqual(new Set(accepted.map((i) => i.id)));
    // Refused launches left no instance behind.
    expect(await t.db.select({ id: instances.id }).from(instances).where(eq(instances.tenantId, tenant.id))).toHaveLength(61);

    const victim = live.find((n) => n.address === '10.9.0.40')!;
    await api.instances.terminate({ tenantId: tenant.id, instanceId: victim.instanceId });
    const released = await api.instances.interfaces({ tenantId: tenant.id, instanceId: victim.instanceId });
    expect(released).toEqual([expect.objectContaining({ address: null, releasedAt: expect.any(Date) })]);
    const next = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'next', interfaces: [{ networkId: burst.id }] });
    expect((await api.instances.interfaces({ tenantId: tenant.id, instanceId: next.id })).map((n) => n.address)).toEqual(['10.9.0.40']);
    expect((await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'one more', interfaces: [{ networkId: burst.id }] }))).message).toBe(full);
  });
});

describe('deleting networks', () => {
  it('is refused while NICs are attached (naming the instances), never for the default network, and works after terminate', async () => {
    const { tenant, api } = await tenantWithOwner();
    const lab = await api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '10.3.0.0/24' });
    const web = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'web', interfaces: [{ networkId: lab.id }] });
    expect(await refusal(api.networks.delete({ tenantId: tenant.id, networkId: lab.id }))).toEqual({
      code: 'CONFLICT',
      reason: 'INVALID_STATE',
      message: `“lab” still has 1 network interface attached: web (${web.id}). Terminate it first.`,
      fieldErrors: null,
    });
    const [def] = await api.networks.list({ tenantId: tenant.id });
    expect(await refusal(api.networks.delete({ tenantId: tenant.id, networkId: def!.id }))).toMatchObject({
      reason: 'INVALID_STATE',
      message: '“default” is the tenant’s default network; it cannot be deleted.',
    });

    await drain();
    await api.instances.terminate({ tenantId: tenant.id, instanceId: web.id });
    await api.networks.delete({ tenantId: tenant.id, networkId: lab.id });
    expect((await api.networks.list({ tenantId: tenant.id })).map((n) => n.name)).toEqual(['default']);
    expect(await refusal(api.networks.get({ tenantId: tenant.id, networkId: lab.id }))).toMatchObject({ reason: 'NOT_FOUND', message: `Network ${lab.id} was not found.` });
    expect(await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'network.delete'), eq(auditLog.targetId, lab.id)))).toHaveLength(1);
    // A deleted network's range and name are free again; it cannot take new NICs.
    await expect(api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '10.3.0.0/24' })).resolves.toMatchObject({ cidr: '10.3.0.0/24' });
    expect((await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, interfaces: [{ networkId: lab.id }] }))).reason).toBe('NOT_FOUND');
  });

  it('names at most five instances and counts the rest', async () => {
    const { tenant, api } = await tenantWithOwner();
    const lab = await api.networks.create({ tenantId: tenant.id, name: 'lab', cidr: '10.4.0.0/24' });
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await api.instances.launch({ tenantId: tenant.id, ...tiny, name: `n${i}`, interfaces: [{ networkId: lab.id }] }));
    const names = made.slice(0, 5).map((m) => `${m.name} (${m.id})`).join(', ');
    expect((await refusal(api.networks.delete({ tenantId: tenant.id, networkId: lab.id }))).message).toBe(
      `“lab” still has 7 network interfaces attached: ${names} and 2 more. Terminate them first.`,
    );
  });
});
