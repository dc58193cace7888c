// Property: for any usage history and any sequence of price changes, the SQL
// invoice equals a brute-force, second-by-second sum computed here, independently.
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances, priceVersions, usageSegments } from '../db/schema';
import { newInstanceId } from '../instances/ids';
import { setUpCompute, tiny } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { chargeLines, dailyCharges } from './charges';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await setUpCompute(t.db);
});
afterAll(() => t.close());

const T0 = Date.parse('2025-06-01T00:00:00Z');
const DAY = 86_400;
type Res = 'vcpu' | 'memory_mib' | 'disk_gib' | 'nic';
type Seg = { resource: Res; quantity: number; from: number; to: number };
type Price = { at: number; vcpu: number; mem: number; disk: number; nic: number };

/**
 * Per-second reference: the price in force at each second, the 60 s compute
 * minimum, summed exactly (integers) and rounded half up once per line — as
 * SQL's numeric round does.
 */
function bruteForce(segs: Seg[], prices: Price[], periodFrom: number, periodTo: number): Map<Res, number> {
  const sorted = [...prices].sort((a, b) => a.at - b.at);
  const priceAt = (s: number) => [...sorted].reverse().find((p) => p.at <= s)!;
  const numerators = new Map<Res, bigint>();
  const denominator = (r: Res) => (r === 'memory_mib' ? 3600n * 1024n : 3600n); // memory is priced per GiB, held in MiB
  for (const seg of segs) {
    const end = seg.resource === 'vcpu' || seg.resource === 'memory_mib' ? Math.max(seg.to, seg.from + 60) : seg.to;
    for (let s = Math.max(seg.from, periodFrom); s < Math.min(end, periodTo); s++) {
      const p = priceAt(s);
      const perHour = { vcpu: p.vcpu, memory_mib: p.mem, disk_gib: p.disk, nic: p.nic }[seg.resource];
      numerators.set(seg.resource, (numerators.get(seg.resource) ?? 0n) + BigInt(seg.quantity) * BigInt(perHour));
    }
  }
  return new Map([...numerators].map(([r, num]) => [r, Number((2n * num + denominator(r)) / (2n * denominator(r)))]));
}

const segArb = fc
  .record({
    resource: fc.constantFrom<Res>('vcpu', 'memory_mib', 'disk_gib', 'nic'),
    quantity: fc.integer({ min: 1, max: 4096 }),
    from: fc.integer({ min: 0, max: DAY }),
    length: fc.integer({ min: 0, max: 3 * 3600 }),
  })
  .map((s) => ({ resource: s.resource, quantity: s.quantity, from: s.from, to: s.from + s.length }));

const priceArb = fc.record({
  at: fc.integer({ min: 1, max: DAY }),
  vcpu: fc.integer({ min: 0, max: 100_000 }),
  mem: fc.integer({ min: 0, max: 100_000 }),
  disk: fc.integer({ min: 0, max: 10_000 }),
  nic: fc.integer({ min: 0, max: 10_000 }),
});

/** Non-overlapping per resource, as the ledger guarantees: keep the first of any overlap. */
function ledgerShaped(segs: Seg[]): Seg[] {
  const kept: Seg[] = [];
  for (const s of [...segs].sort((a, b) => a.from - b.from)) {
    if (!kept.some((k) => k.resource === s.resource && s.from < Math.max(k.to, k.from + 60) && k.from < Math.max(s.to, s.from + 60))) kept.push(s);
  }
  return kept;
}

/** A fresh tenant whose one instance has exactly these segments, under exactly these prices. */
async function seed(segs: Seg[], prices: Price[]): Promise<string> {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const id = newInstanceId();
  await t.db.transaction(async (tx) => {
    await tx.execute(sql`delete from price_versions`);
    await tx.insert(priceVersions).values(
      prices.map((p) => ({ effectiveFrom: new Date(T0 + p.at * 1000), currency: 'USD', vcpuHour: p.vcpu, memoryGiBHour: p.mem, diskGiBHour: p.disk, nicHour: p.nic })),
    );
  });
  await t.db.insert(instances).values({ id, tenantId: tenant.id, name: 'p', imageId: tiny.imageId, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, state: 'terminated' });
  await t.db.insert(usageSegments).values(
    segs.map((s) => ({ tenantId: tenant.id, instanceId: id, resource: s.resource, quantity: s.quantity, startedAt: new Date(T0 + s.from * 1000), endedAt: new Date(T0 + s.to * 1000) })),
  );
  return tenant.id;
}

const basePrice: Price = { at: -10 * DAY, vcpu: 10_400, mem: 5_200, disk: 137, nic: 1_000 };
const at = (second: number) => new Date(T0 + second * 1000);

describe('charges (property)', () => {
  it('equal a per-second brute-force sum for random usage and price changes', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(segArb, { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(priceArb, { maxLength: 3, selector: (p) => p.at }),
        fc.integer({ min: 0, max: DAY / 2 }),
        async (segs, changes, periodStart) => {
          const prices = [basePrice, ...changes];
          const kept = ledgerShaped(segs);
          const tenantId = await seed(kept, prices);
          const periodEnd = periodStart + DAY;
          const lines = await chargeLines(t.db, tenantId, at(periodStart), at(periodEnd));
          const expected = bruteForce(kept, prices, periodStart, periodEnd);
          for (const r of ['vcpu', 'memory_mib', 'disk_gib', 'nic'] as const) {
            const got = lines.find((l) => l.resource === r)?.amountMicro ?? 0;
            expect(got, `${r}`).toBe(expected.get(r) ?? 0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('per day, in one query, equal the brute-force sum of each day (segments crossing midnight split)', { timeout: 120_000 }, async () => {
    // Segments up to 3 h long start anywhere in the first day, so some cross into the second.
    const crossing = segArb.map((s) => ({ ...s, from: s.from + DAY / 2, to: s.to + DAY / 2 }));
    await fc.assert(
      fc.asyncProperty(fc.array(crossing, { minLength: 1, maxLength: 6 }), fc.uniqueArray(priceArb, { maxLength: 3, selector: (p) => p.at }), async (segs, changes) => {
        const prices = [basePrice, ...changes];
        const kept = ledgerShaped(segs);
        const tenantId = await seed(kept, prices);
        const days = await dailyCharges(t.db, tenantId, at(0), at(3 * DAY));
        for (let d = 0; d < 3; d++) {
          const expected = [...bruteForce(kept, prices, d * DAY, (d + 1) * DAY).values()].reduce((a, b) => a + b, 0);
          const got = days.find((x) => x.day === at(d * DAY).toISOString().slice(0, 10))?.amountMicro ?? 0;
          expect(got, `day ${d}`).toBe(expected);
        }
      }),
      { numRuns: 40 },
    );
  });
});
