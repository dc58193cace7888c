// Property: whatever is written to the ledger, in whatever order — segments
// opened, closed, inserted closed, corrected, deleted with their instance, price
// versions added and removed before or after the usage they price, open segments
// checkpointed — the invoice, daily costs and totals read from the sums plus the
// open segments equal, to the micro-unit, the same lines cut from the segments themselves
// (`fromSegments`, the brute-force SQL); usage_daily holds exactly what a fresh
// derivation from the segments gives (closed ones, and open ones up to their
// billed_through), usage_monthly its months' sums and usage_day_totals its days'
// rounded lines.
import fc from 'fast-check';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbOrTx } from '../db/client';
import { instances, priceVersions, usageSegments } from '../db/schema';
import { newInstanceId } from '../instances/ids';
import { setUpCompute, tiny } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { DEFAULT_PRICES } from './prices';
import { billedResources, priceOf } from './resources';
import { checkpointOpenUsage } from './ledger';
import { invoiceMonths } from './summary';
import { chargeLines, chargeTotals, dailyCharges, fromSegments } from './charges';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await setUpCompute(t.db);
  await t.db.insert(priceVersions).values({ ...DEFAULT_PRICES, effectiveFrom: BASE });
});
afterAll(() => t.close());

const T0 = Date.parse('2025-06-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = new Date(T0 - 120 * DAY);
const at = (ms: number) => new Date(T0 + ms);
const resources = ['vcpu', 'memory_mib', 'disk_gib', 'nic', 'bandwidth_mbit'] as const;
type Res = (typeof resources)[number];

type Op =
  | { kind: 'segment'; subject: number; resource: Res; quantity: number; from: number; length: number; open: boolean }
  | { kind: 'close'; subject: number; resource: Res; after: number }
  | { kind: 'correct'; subject: number; resource: Res; quantity: number; shift: number }
  | { kind: 'move'; subject: number; resource: Res; shift: number }
  | { kind: 'price'; at: number; vcpu: number; mem: number; disk: number; nic: number; bw: number }
  | { kind: 'unprice' }
  | { kind: 'checkpoint'; day: number }
  | { kind: 'forget'; subject: number };

const subject = fc.integer({ min: 0, max: 2 });
const resource = fc.constantFrom(...resources);
// Milliseconds, so parts are not whole seconds; up to 30 hours long, from two days before T0 to three after.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('segment' as const), subject, resource, quantity: fc.integer({ min: 1, max: 65_536 }), from: fc.integer({ min: -2 * DAY, max: 3 * DAY }), length: fc.integer({ min: 0, max: 30 * HOUR }), open: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), subject, resource, after: fc.integer({ min: 0, max: 30 * HOUR }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('correct' as const), subject, resource, quantity: fc.integer({ min: 1, max: 4096 }), shift: fc.integer({ min: -HOUR, max: 5 * HOUR }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), subject, resource, shift: fc.integer({ min: -DAY, max: DAY }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('price' as const),
      at: fc.integer({ min: -3 * DAY, max: 4 * DAY }),
      vcpu: fc.integer({ min: 0, max: 100_000 }),
      mem: fc.integer({ min: 0, max: 100_000 }),
      disk: fc.integer({ min: 0, max: 10_000 }),
      nic: fc.integer({ min: 0, max: 10_000 }),
      bw: fc.integer({ min: 0, max: 1_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'unprice' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: -2, max: 4 }).map((day) => ({ kind: 'checkpoint' as const, day })) },
  { weight: 1, arbitrary: subject.map((s) => ({ kind: 'forget' as const, subject: s })) },
);

/** Carries `ops` out against a fresh tenant with three instances; the base price version stays. */
async function play(ops: Op[]): Promise<string> {
  await t.db.delete(priceVersions).where(sql`${priceVersions.effectiveFrom} > ${BASE}`);
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const ids = [newInstanceId(), newInstanceId(), newInstanceId()];
  await t.db.insert(instances).values(ids.map((id, i) => ({ ...tiny, id, tenantId: tenant.id, name: `p${i}`, state: 'terminated' as const })));
  const gone = new Set<number>();
  for (const op of ops) {
    if ('subject' in op && gone.has(op.subject)) continue;
    const id = 'subject' in op ? ids[op.subject]! : '';
    const key = 'resource' in op ? and(eq(usageSegments.instanceId, id), eq(usageSegments.resource, op.resource)) : undefined;
    if (op.kind === 'segment') {
      await t.db
        .insert(usageSegments)
        .values({ tenantId: tenant.id, instanceId: id, resource: op.resource, quantity: op.quantity, startedAt: at(op.from), endedAt: op.open ? null : at(op.from + op.length) })
        .onConflictDoNothing(); // one open segment per instance and resource
    } else if (op.kind === 'close') {
      await t.db.update(usageSegments).set({ endedAt: sql`${usageSegments.startedAt} + ${`${op.after} milliseconds`}::interval` }).where(and(key, isNull(usageSegments.endedAt)));
    } else if (op.kind === 'correct') {
      // A late correction of every closed segment of the pair: new quantity, end moved (never before its start).
      await t.db
        .update(usageSegments)
        .set({ quantity: op.quantity, endedAt: sql`greatest(${usageSegments.startedAt}, ${usageSegments.endedAt} + ${`${op.shift} milliseconds`}::interval)` })
        .where(and(key, sql`${usageSegments.endedAt} is not null`));
    } else if (op.kind === 'move') {
      // A late correction of when the pair's closed segments ran: same lengths and quantities, other times (perhaps other prices).
      const by = sql`${`${op.shift} milliseconds`}::interval`;
      await t.db
        .update(usageSegments)
        .set({ startedAt: sql`${usageSegments.startedAt} + ${by}`, endedAt: sql`${usageSegments.endedAt} + ${by}` })
        .where(and(key, sql`${usageSegments.endedAt} is not null`));
    } else if (op.kind === 'price') {
      const prices = { currency: 'USD', vcpuHour: op.vcpu, memoryGiBHour: op.mem, diskGiBHour: op.disk, nicHour: op.nic, bandwidthMbitHour: op.bw };
      await t.db.insert(priceVersions).values({ effectiveFrom: at(op.at), ...prices }).onConflictDoUpdate({ target: priceVersions.effectiveFrom, set: prices });
    } else if (op.kind === 'checkpoint') {
      // checkpointOpenUsage as of a midnight (it only moves forward).
      const midnight = at(op.day * DAY);
      await t.db.execute(sql`
        update usage_segments set billed_through = ${midnight}
        where tenant_id = ${tenant.id} and ended_at is null and started_at < ${midnight} and (billed_through is null or billed_through < ${midnight})`);
    } else if (op.kind === 'unprice') {
      await t.db.execute(sql`delete from price_versions where id = (select id from price_versions where effective_from > ${BASE} order by effective_from desc limit 1)`);
    } else {
      await t.db.delete(instances).where(eq(instances.id, id)); // its segments go with it (cascade)
      gone.add(op.subject);
    }
  }
  return tenant.id;
}

/** usage_daily's rows for the tenant, and what deriving them afresh from its closed segments gives. */
async function storedAndDerived(db: DbOrTx, tenantId: string) {
  const cols = sql.raw(`instance_id, resource::text as resource, day::text as day, price_version_id, unit_seconds::text as unit_seconds, seconds::text as seconds, parts`);
  const order = sql.raw(`order by instance_id, resource, day, price_version_id`);
  const stored = await db.execute(sql`select ${cols} from usage_daily where tenant_id = ${tenantId} ${order}`);
  const derived = await db.execute(sql`
    select ${cols} from (
      select instance_id, resource, day, price_version_id, sum(unit_seconds) as unit_seconds, sum(seconds) as seconds, count(*)::int as parts
      from usage_parts(array(select s from usage_segments s where s.tenant_id = ${tenantId}))
      group by instance_id, resource, day, price_version_id
    ) d ${order}`);
  const monthCols = sql.raw(`instance_id, resource::text as resource, month::text as month, unit_seconds::text as unit_seconds, seconds::text as seconds, parts, priced::text as priced`);
  const monthOrder = sql.raw(`order by instance_id, resource, month`);
  const months = await db.execute(sql`select ${monthCols} from usage_monthly where tenant_id = ${tenantId} ${monthOrder}`);
  const monthsOfDays = await db.execute(sql`
    select ${monthCols} from (
      select d.instance_id, d.resource, date_trunc('month', d.day)::date as month, sum(d.unit_seconds) as unit_seconds, sum(d.seconds) as seconds, sum(d.parts)::int as parts,
             sum(d.unit_seconds * usage_price(pv, d.resource)) as priced
      from usage_daily d join price_versions pv on pv.id = d.price_version_id
      where d.tenant_id = ${tenantId}
      group by d.instance_id, d.resource, date_trunc('month', d.day)
    ) m ${monthOrder}`);
  const totals = await db.execute(sql`select day::text as day, amount::text as amount, lines from usage_day_totals where tenant_id = ${tenantId} order by day`);
  const totalsOfDays = await db.execute(sql`
    select day::text as day, sum(amount)::text as amount, count(*)::int as lines from (
      select d.day, round(sum(d.unit_seconds * usage_price(pv, d.resource)) / usage_divisor(d.resource)) as amount
      from usage_daily d join price_versions pv on pv.id = d.price_version_id
      where d.tenant_id = ${tenantId}
      group by d.day, d.resource, coalesce(d.instance_id, d.image_id, d.volume_id)
    ) l group by day order by day`);
  return { stored: [stored.rows, months.rows, totals.rows], derived: [derived.rows, monthsOfDays.rows, totalsOfDays.rows] };
}

const strip = (lines: { periodStart?: Date; tenantId?: string }[]) => lines.map(({ periodStart: _p, tenantId: _t, ...l }) => l);

describe('usage_daily (property)', () => {
  it('gives the lines the segments give, to the micro-unit, after any sequence of ledger and price writes', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const tenantId = await play(ops);
        // One transaction: open segments end at one now() on both sides.
        await t.db.transaction(async (tx) => {
          const { stored, derived } = await storedAndDerived(tx, tenantId);
          expect(stored).toEqual(derived);
          for (const [from, to] of [
            [at(-3 * DAY), at(5 * DAY)],
            [at(0), at(DAY)],
            [at(-3 * DAY), at(32 * DAY)], // days of May, all of June (usage_monthly), days of July
            [new Date('2000-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z')],
          ] as const) {
            expect(await chargeLines(tx, tenantId, from, to)).toEqual(strip(await fromSegments(tx, [tenantId], from, to, null)));
            const oracleDays = new Map<string, number>();
            for (const l of await fromSegments(tx, [tenantId], from, to, '24 hours')) {
              const day = l.periodStart.toISOString().slice(0, 10);
              oracleDays.set(day, (oracleDays.get(day) ?? 0) + l.amountMicro);
            }
            if (to.getUTCFullYear() < 2100) expect(await dailyCharges(tx, tenantId, from, to)).toEqual([...oracleDays].map(([day, amountMicro]) => ({ day, amountMicro })));
            const total = (await fromSegments(tx, [tenantId], from, to, null)).reduce((a, l) => a + l.amountMicro, 0);
            expect((await chargeTotals(tx, [tenantId], from, to)).get(tenantId) ?? 0).toBe(total);
          }
        });
      }),
      { numRuns: 60 },
    );
  });

  it('takes a deleted tenant’s sums with it and leaves the others’ alone', async () => {
    const keep = await play([{ kind: 'segment', subject: 0, resource: 'vcpu', quantity: 2, from: 0, length: HOUR, open: false }]);
    const drop = await play([{ kind: 'segment', subject: 0, resource: 'vcpu', quantity: 2, from: 0, length: HOUR, open: false }]);
    await t.db.execute(sql`delete from tenants where id = ${drop}`);
    const rows = await t.db.execute<{ tenant_id: string }>(sql`select distinct tenant_id from usage_daily where tenant_id in (${keep}, ${drop})`);
    expect(rows.rows.map((r) => r.tenant_id)).toEqual([keep]);
    const { stored, derived } = await storedAndDerived(t.db, keep);
    expect(stored).toEqual(derived);
    expect(stored[0]).toHaveLength(1);
    expect(stored[1]).toHaveLength(1);
    expect(stored[2]).toHaveLength(1);
  });

  it('reprices a month when a correction moves usage across a price change without changing its length', async () => {
    // Seconds, unit-seconds and parts of the month stay the same; only the price version of its hour changes.
    const tenantId = await play([
      { kind: 'price', at: 12 * HOUR, vcpu: 99_000, mem: 0, disk: 0, nic: 0, bw: 0 },
      { kind: 'segment', subject: 0, resource: 'vcpu', quantity: 2, from: HOUR, length: HOUR, open: false },
      { kind: 'move', subject: 0, resource: 'vcpu', shift: 12 * HOUR },
    ]);
    const { stored, derived } = await storedAndDerived(t.db, tenantId);
    expect(stored).toEqual(derived);
    const june = [at(0), at(30 * DAY)] as const;
    const lines = await chargeLines(t.db, tenantId, ...june);
    expect(lines).toEqual(strip(await fromSegments(t.db, [tenantId], ...june, null)));
    expect(lines.map((l) => l.amountMicro)).toEqual([2 * 99_000]);
  });

  it('lists the months with usage, newest first: closed segments’ months and every month an open one has run through', async () => {
    const tenantId = await play([
      { kind: 'segment', subject: 0, resource: 'disk_gib', quantity: 1, from: -80 * DAY, length: HOUR, open: false }, // 2025-03
      { kind: 'segment', subject: 0, resource: 'vcpu', quantity: 1, from: -HOUR, length: 2 * HOUR, open: false }, // 2025-05 into 2025-06
      { kind: 'segment', subject: 1, resource: 'nic', quantity: 1, from: 0, length: 0, open: false }, // nothing billed: no month
    ]);
    expect(await invoiceMonths(t.db, tenantId)).toEqual(['2025-06', '2025-05', '2025-03']);
    const [{ now } = { now: '' }] = (await t.db.execute<{ now: string }>(sql`select to_char(now() at time zone 'UTC', 'YYYY-MM') as now`)).rows;
    await t.db.insert(usageSegments).values({ tenantId, instanceId: (await t.db.select().from(instances).where(eq(instances.tenantId, tenantId)))[2]!.id, resource: 'disk_gib', quantity: 1, startedAt: at(95 * DAY) }); // open since 2025-09
    const months = await invoiceMonths(t.db, tenantId);
    expect(months[0]).toBe(now);
    expect(months.slice(-4)).toEqual(['2025-09', '2025-06', '2025-05', '2025-03']);
    expect(new Set(months).size).toBe(months.length);
  });

  it('prices in SQL exactly as priceOf says', async () => {
    const [pv] = await t.db.select().from(priceVersions).where(eq(priceVersions.effectiveFrom, BASE));
    for (const r of billedResources) {
      const { rows } = await t.db.execute<{ price: string; divisor: string }>(
        sql`select usage_price(pv, ${r}::usage_resource)::text as price, usage_divisor(${r}::usage_resource)::text as divisor from price_versions pv where pv.id = ${pv!.id}`,
      );
      expect([Number(rows[0]!.price), Number(rows[0]!.divisor)], r).toEqual([pv![priceOf[r].key], 3600 * priceOf[r].per]);
    }
  });

  it('checkpointOpenUsage moves open segments to the last midnight without changing a charge, and leaves a locked one for the next run', async () => {
    const tenantId = await play([
      { kind: 'segment', subject: 0, resource: 'vcpu', quantity: 2, from: -DAY, length: 0, open: true },
      { kind: 'segment', subject: 1, resource: 'nic', quantity: 1, from: 0, length: 0, open: true },
    ]);
    const [held, free] = await t.db.select().from(usageSegments).where(eq(usageSegments.tenantId, tenantId)).orderBy(usageSegments.id);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Another writer holds the first segment.
    const holder = t.db.transaction(async (tx) => {
      await tx.select().from(usageSegments).where(eq(usageSegments.id, held!.id)).for('update');
      locked();
      await released;
    });
    await isLocked;
    try {
      await t.db.transaction(async (tx) => {
        const period = [new Date('2000-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z')] as const;
        const before = { lines: await chargeLines(tx, tenantId, ...period), days: await dailyCharges(tx, tenantId, at(-2 * DAY), at(600 * DAY)) };
        expect(await checkpointOpenUsage(tx)).toBeGreaterThanOrEqual(1);
        expect({ lines: await chargeLines(tx, tenantId, ...period), days: await dailyCharges(tx, tenantId, at(-2 * DAY), at(600 * DAY)) }).toEqual(before);
      });
      const rows = await t.db.execute<{ id: string; moved: boolean }>(
        sql`select id::text, coalesce(billed_through = date_trunc('day', now(), 'UTC'), false) as moved from usage_segments where tenant_id = ${tenantId} order by id`,
      );
      expect(rows.rows.map((r) => r.moved)).toEqual([false, true]);
      expect(free!.billedThrough).toBeNull();
    } finally {
      release();
      await holder;
    }
    await checkpointOpenUsage(t.db);
    const { stored, derived } = await storedAndDerived(t.db, tenantId);
    expect(stored).toEqual(derived);
    expect((await t.db.execute(sql`select 1 from usage_segments where tenant_id = ${tenantId} and billed_through is null`)).rows).toHaveLength(0);
  });
});
