import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chargeLines } from '../billing/charges';
import { seedPrices } from '../billing/prices';
import { clock } from '../billing/summary';
import { auditLog, instances, usageSegments } from '../db/schema';
import { newInstanceId } from '../instances/ids';
import { tenantLimits, tenantUsage } from '../quotas';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { addRole, callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);
const audited = async (action: string, targetId: string) =>
  (await t.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)))).length;

async function setting() {
  const admin = await makeUser(t.db, { isAdmin: true });
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { admin: callerAs(t.db, admin), adminUser: admin, owner: callerAs(t.db, owner), ownerUser: owner, tenant };
}

describe('quota increase requests', () => {
  it('an owner asks, an admin approves and the limit changes in the same step; the tenant then launches', async () => {
    const { admin, owner, tenant } = await setting();
    await setQuota(t.db, tenant.id, { vcpus: 1 });
    await expect(owner.instances.launch({ tenantId: tenant.id, ...tiny, vcpus: 2 })).rejects.toThrow(/vCPUs quota exceeded/);
    const req = await owner.quotaRequests.create({ tenantId: tenant.id, resource: 'vcpus', limit: 4, reason: 'We need two-core build machines.' });
    expect(req).toMatchObject({ status: 'pending', limitAtRequest: 1, requestedLimit: 4 });
    await expect(owner.quotaRequests.create({ tenantId: tenant.id, resource: 'vcpus', limit: 8, reason: 'Even more build machines.' })).rejects.toThrow(/already waiting/);
    const queue = await admin.admin.quotaRequests.list();
    expect(queue[0]).toMatchObject({ id: req.id, status: 'pending', tenantName: tenant.name });
    await admin.admin.quotaRequests.decide({ id: req.id, approve: true, comment: 'Approved for Q4.' });
    await expect(admin.admin.quotaRequests.decide({ id: req.id, approve: false })).rejects.toThrow(/already approved/);
    expect((await owner.quotas.get({ tenantId: tenant.id })).find((q) => q.resource === 'vcpus')?.limit).toBe(4);
    expect((await owner.quotaRequests.list({ tenantId: tenant.id }))[0]).toMatchObject({ status: 'approved', comment: 'Approved for Q4.' });
    await expect(owner.instances.launch({ tenantId: tenant.id, ...tiny, vcpus: 2 })).resolves.toBeTruthy();
    expect(await audited('admin.quotaRequests.approve', req.id)).toBe(1);
  });

  it('a denial leaves the limit and tells the tenant why; members cannot ask', async () => {
    const { admin, owner, tenant } = await setting();
    const member = await makeUser(t.db);
    await addRole(t.db, tenant, member, 'member');
    await expect(
      callerAs(t.db, member).quotaRequests.create({ tenantId: tenant.id, resource: 'instances', limit: 50, reason: 'Please, many more instances.' }),
    ).rejects.toThrow(/owner role/);
    const req = await owner.quotaRequests.create({ tenantId: tenant.id, resource: 'instances', limit: 50, reason: 'Please, many more instances.' });
    await admin.admin.quotaRequests.decide({ id: req.id, approve: false, comment: 'Use smaller instances first.' });
    expect((await owner.quotaRequests.list({ tenantId: tenant.id }))[0]).toMatchObject({ status: 'denied', comment: 'Use smaller instances first.' });
    expect((await owner.quotas.get({ tenantId: tenant.id })).find((q) => q.resource === 'instances')?.limit).toBe(10);
  });
});

describe('suspending a tenant', () => {
  it('stops its instances saying why, refuses changes but not reads, and reactivation lets it start again', async () => {
    const { admin, owner, tenant } = await setting();
    const inst = await owner.instances.launch({ tenantId: tenant.id, ...tiny });
    await drain();
    const result = await admin.admin.tenants.suspend({ tenantId: tenant.id, reason: 'unpaid invoice' });
    expect(result.stopped).toBe(1);
    await drain();
    const after = await owner.instances.get({ tenantId: tenant.id, instanceId: inst.id });
    expect(after.state).toBe('stopped');
    const events = await owner.instances.events({ tenantId: tenant.id, instanceId: inst.id });
    expect(events.map((e) => e.message)).toContain('Stopped: the tenant was suspended (unpaid invoice).');
    await expect(owner.instances.start({ tenantId: tenant.id, instanceId: inst.id })).rejects.toThrow(/is suspended: unpaid invoice/);
    await expect(owner.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/is suspended/);
    expect((await owner.tenants.list()).find((x) => x.id === tenant.id)).toMatchObject({ suspendReason: 'unpaid invoice' });
    const listed = (await admin.admin.tenants.list({ search: tenant.slug })).items.find((x) => x.id === tenant.id)!;
    expect(listed).toMatchObject({ members: 1, suspendReason: 'unpaid invoice', usage: { instances: 1 } });
    await admin.admin.tenants.reactivate({ tenantId: tenant.id });
    await owner.instances.start({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await owner.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('running');
    expect(await audited('admin.tenants.suspend', tenant.id)).toBe(1);
    expect(await audited('admin.tenants.reactivate', tenant.id)).toBe(1);
  });
});

describe('admin instances', () => {
  it('lists instances across tenants and lets an admin stop and terminate any, named in the history', async () => {
    const { admin, adminUser, owner, tenant } = await setting();
    const inst = await owner.instances.launch({ tenantId: tenant.id, ...tiny, name: 'admin-target' });
    await drain();
    const all = await admin.admin.instances.list({ name: 'admin-target' });
    expect(all.items.map((i) => [i.id, i.tenantName])).toContainEqual([inst.id, tenant.name]);
    await admin.admin.instances.stop({ instanceId: inst.id });
    await drain();
    await admin.admin.instances.terminate({ instanceId: inst.id });
    await drain();
    const events = await owner.instances.events({ tenantId: tenant.id, instanceId: inst.id });
    expect(events.filter((e) => e.actor === adminUser.email).map((e) => e.message)).toEqual(
      expect.arrayContaining([`Stop requested by administrator ${adminUser.email}.`, `Terminate requested by administrator ${adminUser.email}.`]),
    );
    expect((await owner.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('terminated');
  });
});

describe('the admin tenant list', () => {
  it('pages by slug and searches by name or slug; each row’s usage, limits and month-to-date cost match the per-tenant figures', async () => {
    const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
    await seedPrices(t.db);
    const tag = `pg${Date.now().toString(36)}`;
    const made = [];
    const busyOwner = await makeUser(t.db);
    for (const n of ['a', 'b', 'c']) made.push(await makeTenant(t.db, n === 'b' ? busyOwner : await makeUser(t.db), `${tag} ${n}`));
    // One tenant uses something and has its own limits; the others keep the defaults.
    const busy = made[1]!;
    await callerAs(t.db, busyOwner).instances.launch({ tenantId: busy.id, ...tiny, vcpus: 2 });
    await drain();
    await admin.admin.quotas.set({ tenantId: busy.id, limits: { vcpus: 1 } });

    const first = await admin.admin.tenants.list({ search: tag, limit: 2 });
    expect(first.items.map((x) => x.name)).toEqual([`${tag} a`, `${tag} b`]);
    expect(first.nextCursor).not.toBeNull();
    const second = await admin.admin.tenants.list({ search: tag, limit: 2, cursor: first.nextCursor });
    expect(second.items.map((x) => x.name)).toEqual([`${tag} c`]);
    expect(second.nextCursor).toBeNull();
    expect((await admin.admin.tenants.list({ search: made[2]!.slug })).items.map((x) => x.id)).toEqual([made[2]!.id]);
    expect((await admin.admin.tenants.list({ search: '%' })).items.every((x) => x.name.includes('%') || x.slug.includes('%'))).toBe(true);

    for (const row of [...first.items, ...second.items]) {
      expect(row.usage).toEqual(await tenantUsage(t.db, row.id));
      expect(row.limits).toEqual(await tenantLimits(t.db, row.id));
    }
    const busyRow = first.items.find((x) => x.id === busy.id)!;
    expect(busyRow).toMatchObject({ members: 1, usage: { instances: 1, vcpus: 2 }, limits: { vcpus: 1 } });
    expect(busyRow.monthToDateMicro).toBeGreaterThan(0); // still running: its cost grows with now(), so only its sign is fixed

    // Closed segments earlier this month cost a fixed amount: the list's figure must equal the tenant's own invoice lines.
    const closed = made[2]!;
    const { monthStart, monthEnd } = await clock(t.db);
    const vm = newInstanceId();
    await t.db.insert(instances).values({ id: vm, tenantId: closed.id, name: 'past', imageId: tiny.imageId, vcpus: 3, memoryMiB: 3000, diskGiB: 7, nics: 2, state: 'terminated' });
    await t.db.insert(usageSegments).values(
      (['vcpu', 'memory_mib', 'disk_gib', 'nic'] as const).map((resource, i) => ({
        tenantId: closed.id,
        instanceId: vm,
        resource,
        quantity: [3, 3000, 7, 2][i]!,
        startedAt: monthStart,
        endedAt: new Date(monthStart.getTime() + 1_234_567),
      })),
    );
    const invoiceTotal = (await chargeLines(t.db, closed.id, monthStart, monthEnd)).reduce((a, l) => a + l.amountMicro, 0);
    expect(invoiceTotal).toBeGreaterThan(0);
    const listed = (await admin.admin.tenants.list({ search: closed.slug })).items[0]!;
    expect(listed.monthToDateMicro).toBe(invoiceTotal);
  });
});
