import crypto from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chargeLines } from '../billing/charges';
import { auditLog, hosts, instances, priceVersions, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { newInstanceId } from '../instances/ids';
import { tenantUsage } from '../quotas';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
// Easy per-second numbers: 1 µ per Mbit/s-second and per port-forward-second.
const P = { currency: 'USD', vcpuHour: 3_600_000, memoryGiBHour: 3_600, diskGiBHour: 7_200, nicHour: 36_000, bandwidthMbitHour: 3_600, portForwardHour: 3_600, savedStateGiBHour: 3_600, snapshotGiBHour: 3_600, imageGiBHour: 3_600 };
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
  // Rates are sold on tenant networks: this host builds them (its NICs are bridged).
  await t.db.update(hosts).set({ networkMode: 'bridged', networkNote: null }).where(eq(hosts.id, hostId));
  await t.db.insert(priceVersions).values({ effectiveFrom: new Date('2000-01-01T00:00:00Z'), ...P });
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function running(spec: Partial<typeof tiny> = {}, limits?: Parameters<typeof setQuota>[2]) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  if (limits) await setQuota(t.db, tenant.id, limits);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'web', nics: 2, ...spec });
  const input = { tenantId: tenant.id, instanceId: inst.id };
  const [eth0, eth1] = await api.instances.interfaces(input);
  return { tenant, api, inst, input, eth0: eth0!, eth1: eth1! };
}

/** The instance's bandwidth_mbit segments, timestamps as PostgreSQL's own text (microseconds). */
async function rateSegments(instanceId: string) {
  return t.db
    .select({
      quantity: usageSegments.quantity,
      from: sql<string>`${usageSegments.startedAt}::text`,
      to: sql<string | null>`${usageSegments.endedAt}::text`,
      seconds: sql<string | null>`extract(epoch from ${usageSegments.endedAt} - ${usageSegments.startedAt})::text`,
    })
    .from(usageSegments)
    .where(and(eq(usageSegments.instanceId, instanceId), eq(usageSegments.resource, 'bandwidth_mbit')))
    .orderBy(asc(usageSegments.startedAt), asc(usageSegments.id));
}

describe('NIC rates', () => {
  it('on a running instance: the open bandwidth_mbit segment ends and the new total starts at the same instant', async () => {
    const { api, inst, input, eth0, eth1 } = await running();
    await drain();
    expect((await api.instances.get(input)).state).toBe('running');
    expect((await rateSegments(inst.id)).map((s) => [s.quantity, s.to])).toEqual([[200, null]]);

    expect(await api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 300 })).toMatchObject({ id: eth0.id, position: 0, rateMbit: 300 });
    await api.instances.setInterfaceRate({ ...input, interfaceId: eth1.id, rateMbit: 50 });
    await api.instances.setInterfaceRate({ ...input, interfaceId: eth1.id, rateMbit: 50 }); // unchanged: nothing happens
    const segs = await rateSegments(inst.id);
    expect(segs.map((s) => s.quantity)).toEqual([200, 400, 350]);
    expect(segs[0]!.to).toBe(segs[1]!.from);
    expect(segs[1]!.to).toBe(segs[2]!.from);
    expect(segs[2]!.to).toBeNull();
    expect((await api.instances.interfaces(input)).map((n) => n.rateMbit)).toEqual([300, 50]);
    expect((await tenantUsage(t.db, input.tenantId)).bandwidthMbit).toBe(350);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'instance.setInterfaceRate'), eq(auditLog.targetId, inst.id))).orderBy(asc(auditLog.id));
    expect(audit.map((a) => a.detail)).toEqual([
      { interface: 'eth0', from: 100, to: 300 },
      { interface: 'eth1', from: 100, to: 50 },
    ]);

    // The invoice bills each total for exactly the seconds it was in force (1 µ per Mbit/s-second).
    await api.instances.stop(input);
    await drain();
    const closed = await rateSegments(inst.id);
    expect(closed.every((s) => s.to !== null)).toBe(true);
    const exact = closed.reduce((sum, s) => sum + s.quantity * Number(s.seconds), 0);
    const [line] = (await chargeLines(t.db, input.tenantId, new Date('2000-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z'))).filter((l) => l.resource === 'bandwidth_mbit');
    expect(Math.abs(line!.amountMicro - exact)).toBeLessThanOrEqual(1);
    expect(line!.unitSeconds).toBeCloseTo(exact, 3);
  });

  it('on a stopped (or not yet running) instance: the rate changes and no segment opens; the next start meters the new total', async () => {
    const { api, inst, input, eth0 } = await running();
    await api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 150 }); // pending
    expect(await rateSegments(inst.id)).toEqual([]);
    await drain();
    await api.instances.stop(input);
    await drain();
    expect((await api.instances.get(input)).state).toBe('stopped');
    const before = await rateSegments(inst.id);
    expect(before.map((s) => s.quantity)).toEqual([250]);
    expect(before[0]!.to).not.toBeNull();

    await api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 400 });
    expect(await rateSegments(inst.id)).toEqual(before);
    await api.instances.start(input);
    await drain();
    const after = await rateSegments(inst.id);
    expect(after.map((s) => [s.quantity, s.to === null])).toEqual([
      [250, false],
      [500, true],
    ]);
  });

  it('raising past the bandwidth quota is refused beside rateMbit; lowering always works', async () => {
    const { api, input, eth0, eth1 } = await running({}, { bandwidthMbit: 250 });
    const message = 'Network bandwidth quota exceeded: raising eth0 to 200 Mbit/s needs 100 Mbit/s, the tenant uses 200 Mbit/s of its 250 Mbit/s limit, so 50 Mbit/s are left.';
    expect(await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 200 }))).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      message,
      fieldErrors: { rateMbit: [message] },
    });
    expect((await api.instances.interfaces(input)).map((n) => n.rateMbit)).toEqual([100, 100]);
    await api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 150 }); // exactly the limit
    expect((await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: eth1.id, rateMbit: 101 }))).message).toBe(
      'Network bandwidth quota exceeded: raising eth1 to 101 Mbit/s needs 1 Mbit/s, the tenant uses 250 Mbit/s of its 250 Mbit/s limit, so 0 Mbit/s are left.',
    );
    // An admin lowers the limit below use: lowering a rate is still allowed.
    await setQuota(t.db, input.tenantId, { bandwidthMbit: 10 });
    await expect(api.instances.setInterfaceRate({ ...input, interfaceId: eth1.id, rateMbit: 1 })).resolves.toMatchObject({ rateMbit: 1 });
  });

  it('a launch counts its NICs’ rates against the quota', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    await setQuota(t.db, tenant.id, { bandwidthMbit: 300 });
    const api = callerAs(t.db, owner);
    const message = 'Network bandwidth quota exceeded: this launch needs 400 Mbit/s, the tenant uses 0 Mbit/s of its 300 Mbit/s limit, so 300 Mbit/s are left.';
    expect(await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, nics: 2, interfaces: [{ rateMbit: 300 }, {}] }))).toMatchObject({ reason: 'QUOTA_EXCEEDED', message });
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny, nics: 2, interfaces: [{ rateMbit: 200 }, {}] })).resolves.toMatchObject({ nics: 2 });
  });

  it.each([
    [0, 'A rate is at least 1 Mbit/s.'],
    [10_001, 'A rate is at most 10,000 Mbit/s.'],
    [1.5, 'Enter a whole number of Mbit/s.'],
  ])('refuses rate %s before anything runs', async (rateMbit, message) => {
    const { api, input, eth0 } = await running();
    expect(await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit }))).toEqual({
      code: 'BAD_REQUEST',
      reason: 'INVALID_INPUT',
      message: `rateMbit: ${message}`,
      fieldErrors: { rateMbit: [message] },
    });
    expect((await refusal(api.instances.launch({ tenantId: input.tenantId, ...tiny, interfaces: [{ rateMbit }] }))).fieldErrors).toEqual({ 'interfaces.0.rateMbit': [message] });
  });

  it('refuses an interface of another instance, and a terminated instance', async () => {
    const { api, input, eth0 } = await running();
    const other = await running();
    expect(await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: other.eth0.id, rateMbit: 10 }))).toMatchObject({ reason: 'NOT_FOUND', message: 'web has no such network interface.' });
    expect(await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: crypto.randomUUID(), rateMbit: 10 }))).toMatchObject({ reason: 'NOT_FOUND' });
    expect(await refusal(other.api.instances.setInterfaceRate({ ...other.input, instanceId: input.instanceId, interfaceId: eth0.id, rateMbit: 10 }))).toMatchObject({
      reason: 'NOT_FOUND',
      message: `Instance ${input.instanceId} was not found.`,
    });
    await api.instances.terminate(input);
    expect(await refusal(api.instances.setInterfaceRate({ ...input, interfaceId: eth0.id, rateMbit: 10 }))).toMatchObject({
      reason: 'INVALID_STATE',
      message: `web is being terminated; its network cannot change.`,
    });
  });
});

describe('the invoice', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(T0 + s * 1000);

  async function billed(segs: { resource: 'bandwidth_mbit' | 'port_forward'; quantity: number; from: number; to: number }[]) {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const id = newInstanceId();
    await t.db.insert(instances).values({ id, tenantId: tenant.id, name: 'billed', imageId: tiny.imageId, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, state: 'terminated' });
    await t.db.insert(usageSegments).values(segs.map((s) => ({ tenantId: tenant.id, instanceId: id, resource: s.resource, quantity: s.quantity, startedAt: at(s.from), endedAt: at(s.to) })));
    return chargeLines(t.db, tenant.id, at(0), at(86_400));
  }

  it('bills bandwidth_mbit as rate × seconds × price, per second with no run minimum', async () => {
    const split = await billed([
      { resource: 'bandwidth_mbit', quantity: 200, from: 100, to: 150 },
      { resource: 'bandwidth_mbit', quantity: 400, from: 150, to: 200 },
    ]);
    expect(split).toEqual([expect.objectContaining({ resource: 'bandwidth_mbit', seconds: 100, unitSeconds: 200 * 50 + 400 * 50, amountMicro: 200 * 50 + 400 * 50 })]);
    const short = await billed([{ resource: 'bandwidth_mbit', quantity: 100, from: 0, to: 10 }]);
    expect(short).toEqual([expect.objectContaining({ seconds: 10, amountMicro: 1_000 })]); // not 60 s
    const clipped = await billed([{ resource: 'bandwidth_mbit', quantity: 10, from: 86_000, to: 90_000 }]);
    expect(clipped).toEqual([expect.objectContaining({ seconds: 400, amountMicro: 4_000 })]);
  });

  it('bills port_forward as count × seconds × price', async () => {
    const lines = await billed([
      { resource: 'port_forward', quantity: 1, from: 0, to: 30 },
      { resource: 'port_forward', quantity: 2, from: 30, to: 90 },
    ]);
    expect(lines).toEqual([expect.objectContaining({ resource: 'port_forward', seconds: 90, amountMicro: 30 + 120 })]);
  });
});
