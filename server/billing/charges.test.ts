import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances, priceVersions, usageSegments } from '../db/schema';
import { newInstanceId } from '../instances/ids';
import { setUpCompute, tiny } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { chargeLines, chargeTotals, dailyCharges } from './charges';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await setUpCompute(t.db);
});
afterAll(() => t.close());

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const P = { vcpuHour: 3_600_000, memoryGiBHour: 3_600, diskGiBHour: 7_200, nicHour: 36_000 }; // easy per-second numbers

async function scenario(segs: { resource: 'vcpu' | 'memory_mib' | 'disk_gib' | 'nic'; quantity: number; from: number; to: number }[]) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const id = newInstanceId();
  await t.db.insert(instances).values({ id, tenantId: tenant.id, name: 'billed', imageId: tiny.imageId, vcpus: 1, memoryMiB: 1024, diskGiB: 2, nics: 1, state: 'terminated' });
  await t.db.insert(usageSegments).values(segs.map((s) => ({ tenantId: tenant.id, instanceId: id, resource: s.resource, quantity: s.quantity, startedAt: at(s.from), endedAt: at(s.to) })));
  return chargeLines(t.db, tenant.id, at(0), at(86_400));
}

const amount = (lines: Awaited<ReturnType<typeof chargeLines>>, r: string) => lines.find((l) => l.resource === r)?.amountMicro ?? 0;

describe('charges', () => {
  beforeAll(async () => {
    await t.db.insert(priceVersions).values({ effectiveFrom: new Date('2000-01-01T00:00:00Z'), currency: 'USD', ...P });
  });

  it('bills a 10-second run as 60 seconds of vCPU and memory, and a 90-second run as 90', async () => {
    const short = await scenario([
      { resource: 'vcpu', quantity: 2, from: 100, to: 110 },
      { resource: 'memory_mib', quantity: 2048, from: 100, to: 110 },
    ]);
    expect(amount(short, 'vcpu')).toBe(2 * 1_000 * 60); // 2 vCPU × 1000 µ/s × 60 s
    expect(amount(short, 'memory_mib')).toBe(2 * 1 * 60); // 2 GiB × 1 µ/s × 60 s
    const long = await scenario([{ resource: 'vcpu', quantity: 1, from: 100, to: 190 }]);
    expect(amount(long, 'vcpu')).toBe(1_000 * 90);
    expect(long[0]?.seconds).toBe(90);
  });

  it('bills disk per second while it exists (stopped included) and nothing after terminate', async () => {
    const lines = await scenario([
      { resource: 'vcpu', quantity: 1, from: 0, to: 100 },
      { resource: 'disk_gib', quantity: 2, from: 0, to: 1_000 },
      { resource: 'nic', quantity: 1, from: 0, to: 1_000 },
    ]);
    expect(amount(lines, 'disk_gib')).toBe(2 * 2 * 1_000); // 2 GiB × 2 µ/s × 1000 s
    expect(amount(lines, 'nic')).toBe(10 * 1_000);
    expect(amount(lines, 'vcpu')).toBe(1_000 * 100);
  });

  it('splits a segment exactly at a price change', async () => {
    await t.db.insert(priceVersions).values({ effectiveFrom: at(50_000), currency: 'USD', ...P, vcpuHour: P.vcpuHour * 2 });
    const lines = await scenario([{ resource: 'vcpu', quantity: 1, from: 49_900, to: 50_200 }]);
    expect(amount(lines, 'vcpu')).toBe(100 * 1_000 + 200 * 2_000);
  });

  it('clips to the period asked for', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const id = newInstanceId();
    await t.db.insert(instances).values({ id, tenantId: tenant.id, name: 'edge', imageId: tiny.imageId, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, state: 'terminated' });
    await t.db.insert(usageSegments).values({ tenantId: tenant.id, instanceId: id, resource: 'disk_gib', quantity: 1, startedAt: at(-500), endedAt: at(500) });
    const lines = await chargeLines(t.db, tenant.id, at(0), at(86_400));
    expect(lines[0]?.seconds).toBe(500);
  });

  it('a month is one period whatever the session time zone (March has 31 days but 743 hours in Berlin)', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const id = newInstanceId();
    const march = new Date('2024-03-01T00:00:00Z');
    const april = new Date('2024-04-01T00:00:00Z');
    await t.db.insert(instances).values({ id, tenantId: tenant.id, name: 'dst', imageId: tiny.imageId, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, state: 'terminated' });
    // A whole month of disk, crossing the night Berlin moves its clocks.
    await t.db.insert(usageSegments).values({ tenantId: tenant.id, instanceId: id, resource: 'disk_gib', quantity: 1, startedAt: march, endedAt: april });
    const inZone = (zone: string) =>
      t.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('TimeZone', ${zone}, true)`);
        return {
          lines: await chargeLines(tx, tenant.id, march, april),
          totals: await chargeTotals(tx, [tenant.id], march, april),
          days: await dailyCharges(tx, tenant.id, march, april),
        };
      });
    const expected = 31 * 86_400 * 2; // 2 µ per GiB-second
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
      const { lines, totals, days } = await inZone(zone);
      expect(lines, zone).toEqual([expect.objectContaining({ resource: 'disk_gib', seconds: 31 * 86_400, amountMicro: expected })]);
      expect(totals.get(tenant.id), zone).toBe(expected);
      expect(days.map((d) => d.day), zone).toEqual(Array.from({ length: 31 }, (_, i) => `2024-03-${String(i + 1).padStart(2, '0')}`));
      expect(days.every((d) => d.amountMicro === 86_400 * 2), zone).toBe(true);
    }
  });
});
