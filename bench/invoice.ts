// Billing at scale: the monthly invoice, the daily costs, the month-to-date summary
// and admin revenue for one tenant at 1,000,000 and then 10,000,000 closed ledger
// segments (real PostgreSQL; 1,000 instances, segments spread over the whole month,
// three price versions, plus one open segment per instance, checkpointed as the
// compute loop does). Invoices read usage_monthly (a priced row per line) and
// usage_daily, daily costs usage_day_totals — sums the ledger's own triggers keep —
// plus the open segments since their checkpoint, live; the figures say how many sum
// rows there are, and check the total against the brute-force SQL over the
// segments themselves.
import { sql } from 'drizzle-orm';
import { chargeLines, dailyCharges, fromSegments } from '../server/billing/charges';
import { checkpointOpenUsage } from '../server/billing/ledger';
import { revenueByTenant } from '../server/billing/revenue';
import { billingSummary } from '../server/billing/summary';
import { benchDatabase } from './database';
import { setUpCompute } from '../server/test/compute';
import { makeTenant, makeUser } from '../server/test/factories';
import { atMost, median, type BenchFigure, type BenchModule } from './types';

const STAGES = (process.env.BENCH_SEGMENTS ?? '1000000,10000000').split(',').map(Number);
const INSTANCES = 1000;
const BATCH = 500_000;
const MONTH = new Date('2026-10-01T00:00:00Z');
const NEXT = new Date('2026-11-01T00:00:00Z');
const MONTH_SECONDS = 31 * 86_400;

async function timed<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const ms: number[] = [];
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    value = await fn();
    ms.push(performance.now() - s);
  }
  return { ms: median(ms), value };
}

const bench: BenchModule = {
  name: 'invoice',
  description: `billing for one tenant at ${STAGES.map((n) => n.toLocaleString('en')).join(' and ')} ledger segments (usage_daily + open segments)`,
  async run() {
    const { db, close } = await benchDatabase('invoice', 4);
    const figures: BenchFigure[] = [];
    try {
      await setUpCompute(db);
      const owner = await makeUser(db);
      const tenant = await makeTenant(db, owner);
      await db.execute(sql`
        insert into price_versions (effective_from, currency, vcpu_hour, memory_gib_hour, disk_gib_hour, nic_hour) values
          ('2000-01-01', 'USD', 10400, 5200, 137, 1000),
          ('2026-10-10', 'USD', 11000, 5500, 140, 1000),
          ('2026-10-20', 'USD', 12000, 6000, 150, 1100)
        on conflict (effective_from) do nothing`);
      await db.execute(sql`
        insert into instances (id, tenant_id, name, image_id, vcpus, memory_mib, disk_gib, nics, state)
        select 'i-' || lpad(to_hex(g), 17, '0'), ${tenant.id}, 'bench-' || g, 'cirrus-tiny-linux', 2, 2048, 20, 1, 'running'
        from generate_series(1, ${INSTANCES}) g`);
      // Each instance holds its disk in one segment open since the month began.
      await db.execute(sql`
        insert into usage_segments (tenant_id, instance_id, resource, quantity, started_at)
        select ${tenant.id}, 'i-' || lpad(to_hex(g), 17, '0'), 'disk_gib', 20, ${MONTH}::timestamptz from generate_series(1, ${INSTANCES}) g`);
      let have = 0;
      for (const target of STAGES) {
        const label = `${(target / 1e6).toLocaleString('en')}M`;
        const t0 = performance.now();
        // Closed segments, 9 s long, a quarter per resource, each instance's spread evenly over the month.
        // Batches: the ledger's trigger sums each statement's rows in one go.
        for (let from = have; from < target; from += BATCH) {
          const to = Math.min(target, from + BATCH);
          await db.execute(sql`
            insert into usage_segments (tenant_id, instance_id, resource, quantity, started_at, ended_at)
            select ${tenant.id}, 'i-' || lpad(to_hex(1 + (g % ${INSTANCES}::int)), 17, '0'),
                   (array['vcpu','memory_mib','bandwidth_mbit','nic']::usage_resource[])[1 + (g / ${INSTANCES}::int) % 4],
                   1 + g % 4,
                   ${MONTH}::timestamptz + ((g::bigint * ${MONTH_SECONDS - 10}::bigint) / ${target}::bigint) * interval '1 second',
                   ${MONTH}::timestamptz + ((g::bigint * ${MONTH_SECONDS - 10}::bigint) / ${target}::bigint) * interval '1 second' + interval '9 seconds'
            from generate_series(${from}::int, ${to - 1}::int) g`);
        }
        // What the compute loop does every 30 s: open segments' complete days into the sums.
        await checkpointOpenUsage(db);
        const loadSeconds = (performance.now() - t0) / 1000;
        // What autovacuum does after a load like this (the sum rows were updated in place batch after batch): steady state.
        await db.execute(sql`vacuum analyze usage_segments, usage_daily, usage_monthly, usage_day_totals`);
        have = target;
        const count = async (table: 'usage_daily' | 'usage_monthly') =>
          (await db.execute<{ rows: number }>(sql`select count(*)::int as rows from ${sql.identifier(table)} where tenant_id = ${tenant.id}`)).rows[0]?.rows ?? 0;
        const dailyRows = await count('usage_daily');
        const monthlyRows = await count('usage_monthly');

        const inv = await timed(5, () => chargeLines(db, tenant.id, MONTH, NEXT));
        const days = await timed(5, () => dailyCharges(db, tenant.id, MONTH, NEXT));
        const summary = await timed(3, () => billingSummary(db, tenant.id));
        const revenue = await timed(3, () => revenueByTenant(db, '2026-10'));
        const brute = await timed(1, () => fromSegments(db, [tenant.id], MONTH, NEXT, null));
        const total = inv.value.reduce((a, l) => a + l.amountMicro, 0);
        const bruteTotal = brute.value.reduce((a, l) => a + l.amountMicro, 0);
        const invoiceLimit = target >= 10_000_000 ? 100 : 50;
        figures.push(
          { label: `${label}: closed segments`, value: target },
          { label: `${label}: usage_daily rows (instance × resource × day × price)`, value: dailyRows },
          { label: `${label}: usage_monthly rows (instance × resource × month)`, value: monthlyRows },
          { label: `${label}: generating the segments (triggers included)`, value: loadSeconds, unit: 's' },
          atMost(`${label}: monthly invoice (median of 5)`, inv.ms, invoiceLimit, 'ms'),
          ...(target <= 1_000_000 ? [atMost(`${label}: daily costs of the month (median of 5)`, days.ms, 50, 'ms')] : [{ label: `${label}: daily costs of the month (median of 5)`, value: days.ms, unit: 'ms' }]),
          { label: `${label}: billing summary, month to date (median of 3)`, value: summary.ms, unit: 'ms' },
          { label: `${label}: admin revenue for the month (median of 3)`, value: revenue.ms, unit: 'ms' },
          { label: `${label}: brute-force SQL over the segments (once)`, value: brute.ms, unit: 'ms' },
          { label: `${label}: invoice total`, value: `${(total / 1e6).toFixed(2)} USD (brute force: ${(bruteTotal / 1e6).toFixed(2)} USD, ${total === bruteTotal ? 'equal' : 'DIFFERENT'})` },
        );
      }
      return figures;
    } finally {
      await close();
    }
  },
};

export default bench;
