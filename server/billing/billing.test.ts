import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceEvents } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { addRole, callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { enforceBudgets } from './budget-guard';
import { csvField, invoiceCsv } from './csv';
import { seedPrices } from './prices';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, { bridged: true })); // NIC rates are billed on tenant networks
  await seedPrices(t.db);
});
afterAll(() => t.close());

async function tenantWithOwner() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

describe('billing', () => {
  it('estimates the hourly and monthly cost of a size from the price in force', async () => {
    const { tenant, api } = await tenantWithOwner();
    const e = await api.billing.estimate({ tenantId: tenant.id, vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2 });
    // 2 × 10,400 + 0.375 × 5,200 + 2 × 137 + 2 × 1,000 + 2 NICs × 100 Mbit/s × 40 micro-USD per hour
    expect(e).toEqual({ currency: 'USD', hourlyMicro: 33_024, monthlyMicro: 33_024 * 730, hoursPerMonth: 730 });
    // NICs shaped to other rates cost what they are shaped to.
    const slow = await api.billing.estimate({ tenantId: tenant.id, vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2, bandwidthMbit: 20 });
    expect(slow.hourlyMicro).toBe(25_024 + 20 * 40);
  });

  it('summarises the month: total, forecast at the current rate, breakdowns and the invoice lines agree', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'costly' });
    await drainJobs(t.db, t.url, hostId, driver);
    const s = await api.billing.summary({ tenantId: tenant.id });
    expect(s.totalMicro).toBeGreaterThan(0); // at least the 60-second minimum of compute
    expect(s.forecastMicro).toBeGreaterThanOrEqual(s.totalMicro);
    expect(s.byInstance).toEqual([{ instanceId: inst.id, imageId: null, volumeId: null, name: 'costly', amountMicro: s.totalMicro }]);
    expect(s.byResource.reduce((a, r) => a + r.amountMicro, 0)).toBe(s.totalMicro);
    expect(s.daily.reduce((a, d) => a + d.amountMicro, 0)).toBeGreaterThanOrEqual(s.totalMicro - 5); // per-day rounding
    const inv = await api.billing.invoice({ tenantId: tenant.id, month: s.month });
    expect(inv.final).toBe(false);
    expect(inv.lines.map((l) => l.resource).sort()).toEqual(['bandwidth_mbit', 'disk_gib', 'memory_mib', 'nic', 'vcpu']);
    const csv = invoiceCsv(inv);
    expect(csv.split('\r\n')[0]).toBe('month,instance_id,instance_name,resource,seconds,unit_seconds,amount_usd,amount_micro,image_id,image_name,volume_id,volume_name');
    expect(csv).toContain(`${s.month},${inst.id},costly,vcpu,`);
    await expect(api.billing.invoice({ tenantId: tenant.id, month: '2999-01' })).rejects.toThrow(/has not started yet/);
  });

  it('a hard-capped budget refuses launches once spent and stops what runs, saying why', async () => {
    const { tenant, api, owner } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'spender' });
    await drainJobs(t.db, t.url, hostId, driver);
    const member = await makeUser(t.db);
    await addRole(t.db, tenant, member, 'member');
    await expect(callerAs(t.db, member).billing.budget.set({ tenantId: tenant.id, monthlyMicro: 1, hardCap: true })).rejects.toThrow(/owner role/);
    await callerAs(t.db, owner).billing.budget.set({ tenantId: tenant.id, monthlyMicro: 1, hardCap: true });
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/monthly budget, which is a hard cap/);
    expect(await enforceBudgets(t.db)).toBeGreaterThanOrEqual(1);
    await drainJobs(t.db, t.url, hostId, driver);
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('stopped');
    const events = await t.db.select().from(instanceEvents).where(eq(instanceEvents.instanceId, inst.id));
    expect(events.map((e) => e.message)).toContain('Stopped: the tenant reached its monthly budget, which is a hard cap.');
    expect((await api.billing.summary({ tenantId: tenant.id })).budget).toMatchObject({ monthlyMicro: 1, hardCap: true });
    // Raising the budget lets it start again.
    await api.billing.budget.set({ tenantId: tenant.id, monthlyMicro: 1_000_000_000, hardCap: true });
    await api.instances.start({ tenantId: tenant.id, instanceId: inst.id });
  });

  it('gives admins revenue per tenant per month, equal to the tenants’ own invoices', async () => {
    const { tenant, api } = await tenantWithOwner();
    await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'revenue' });
    await drainJobs(t.db, t.url, hostId, driver);
    const admin = await makeUser(t.db, { isAdmin: true });
    const s = await api.billing.summary({ tenantId: tenant.id });
    const rev = await callerAs(t.db, admin).admin.revenue.list({ month: s.month });
    const mine = rev.tenants.find((x) => x.tenantId === tenant.id)!;
    const inv = await api.billing.invoice({ tenantId: tenant.id, month: s.month });
    expect(mine.totalMicro).toBeGreaterThan(0);
    expect(Math.abs(mine.totalMicro - inv.totalMicro)).toBeLessThanOrEqual(inv.lines.length * 200); // the clock moved between the two reads
    expect(rev.totalMicro).toBe(rev.tenants.reduce((a, x) => a + x.totalMicro, 0));
  });

  it('writes CSV safely: quotes, commas, newlines and spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-5)).toBe('-5');
  });
});
