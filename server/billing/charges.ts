// Charges are computed, never accumulated by hand: usage segments × the price in
// force for each part of each segment (a price change mid-segment splits it),
// clipped to the period asked for. Compute segments (vCPU, memory) are billed for
// at least 60 seconds per run, then per second; everything else per second
// (server/billing/resources.ts lists the resources and their prices).
//
// Two ways to the same parts. The database sums the ledger, in the transaction
// that writes it (drizzle/0019_usage_daily.sql, 0020_usage_monthly_priced.sql):
// closed segments, and open ones up to their billed_through checkpoint, per
// subject, resource, UTC day and price version (usage_daily), per subject,
// resource and month, priced (usage_monthly: a whole month's line is one row),
// and per tenant-day as rounded lines (usage_day_totals). A day-aligned period
// reads those sums plus the open segments since their checkpoint, live — its
// cost grows with subject-days, not segments. Any other period, and the
// property tests' oracle, cut the segments themselves (`fromSegments`). Either
// way a line's amount is rounded once, from exact numerics:
// round(Σ unit-seconds × price ÷ (3600 × units per priced unit)).
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { RUN_MINIMUM_RESOURCES, type BilledResource } from './resources';

const runMinimumSql = sql.raw(RUN_MINIMUM_RESOURCES.map((r) => `'${r}'`).join(', '));

const DAY_MS = 86_400_000;
const dayAligned = (d: Date) => d.getTime() % DAY_MS === 0;

/** A line is for an instance, for the storage of a tenant's own image, or for a volume (the other pairs are null). */
export type ChargeLine = {
  instanceId: string | null;
  instanceName: string | null;
  imageId: string | null;
  imageName: string | null;
  volumeId: string | null;
  volumeName: string | null;
  resource: BilledResource;
  /** Unit-seconds: quantity × seconds (memory in MiB-seconds). */
  unitSeconds: number;
  seconds: number;
  amountMicro: number;
};

/**
 * Every (instance or image, resource) line of a tenant's charges in [from, to), in
 * integer micro-units (rounded once per line). Durations come from the
 * database's own timestamps; `now()` ends open segments.
 */
export function chargeLines(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<ChargeLine[]> {
  return pricedLines(db, partsOf([tenantId], from, to, null), false);
}

/**
 * What each of `tenantIds` is charged for [from, to): the sum of its
 * `chargeLines`, rounded the same way, for many tenants in one query.
 * Tenants without charges are absent.
 */
export async function chargeTotals(db: DbOrTx, tenantIds: string[], from: Date, to: Date): Promise<Map<string, number>> {
  if (tenantIds.length === 0) return new Map();
  return new Map((await periodTotals(db, partsOf(tenantIds, from, to, null))).map((t) => [t.tenantId, t.amountMicro]));
}

/**
 * The tenant's charges per UTC day of [from, to), each day summed from lines
 * rounded exactly as `chargeLines(day start, day end)` rounds them — in one
 * query instead of one per day. Days without charges are left out.
 */
export async function dailyCharges(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<{ day: string; amountMicro: number }[]> {
  if (dayAligned(from) && dayAligned(to) && from < to) return dailyFromTotals(db, tenantId, from, to);
  return (await periodTotals(db, segmentParts([tenantId], from, to, '24 hours'))).map((t) => ({ day: isoDay(t.periodStart), amountMicro: t.amountMicro }));
}

/**
 * Daily costs of day-aligned days: usage_day_totals' row per day (its closed
 * line-days, each priced and rounded), corrected on the line-days the open
 * segments reach since their billed_through — each such line priced again with
 * its open part and its closed rounding taken out.
 */
async function dailyFromTotals(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<{ day: string; amountMicro: number }[]> {
  const subject = (t: string) => sql.raw(`coalesce(${t}.instance_id, ${t}.image_id, ${t}.volume_id)`);
  const { rows } = await db.execute<{ day: string; amount: string }>(sql`
    with ${segmentCuts([tenantId], from, to, '24 hours', 'open', 'open_parts')},
    open_lines as (
      select o.tenant_id, (o.p0 at time zone 'UTC')::date as day, o.resource, ${subject('o')} as subject, o.price_version_id, o.unit_seconds, false as closed
      from open_parts o
    ),
    touched as (select distinct tenant_id, day, resource, subject from open_lines),
    closed_lines as (
      select u.tenant_id, u.day, u.resource, ${subject('u')} as subject, u.price_version_id, u.unit_seconds, true as closed
      from usage_daily u
      join touched k on k.tenant_id = u.tenant_id and k.day = u.day and k.resource = u.resource and k.subject = ${subject('u')}
    ),
    corrections as (
      select l.tenant_id, l.day,
             round(sum(l.unit_seconds * usage_price(pv, l.resource)) / usage_divisor(l.resource))
               - coalesce(round(sum(l.unit_seconds * usage_price(pv, l.resource)) filter (where l.closed) / usage_divisor(l.resource)), 0) as amount,
             bool_or(l.closed) as counted
      from (select * from open_lines union all select * from closed_lines) l
      join price_versions pv on pv.id = l.price_version_id
      group by l.tenant_id, l.day, l.resource, l.subject
    ),
    by_day as (
      select day, sum(amount) as amount, count(*) filter (where not counted) as new_lines from corrections group by day
    ),
    totals as (
      select day, amount, lines from usage_day_totals where tenant_id = ${tenantId} and day >= ${isoDay(from)}::date and day < ${isoDay(to)}::date
    )
    select coalesce(t.day, c.day)::text as day, coalesce(t.amount, 0) + coalesce(c.amount, 0) as amount
    from totals t
    full join by_day c on c.day = t.day
    where coalesce(t.lines, 0) + coalesce(c.new_lines, 0) > 0
    order by 1
  `);
  return rows.map((r) => ({ day: r.day, amountMicro: Number(r.amount) }));
}

type Step = '24 hours' | null;
type PeriodLine = ChargeLine & { tenantId: string; periodStart: Date };

/** The parts of [from, to)'s charges, cut into periods of `step` (an absolute interval; null: one period). */
function partsOf(tenantIds: string[], from: Date, to: Date, step: Step): SQL {
  return dayAligned(from) && dayAligned(to) && from < to ? fromDailySums(tenantIds, from, to, step) : segmentParts(tenantIds, from, to, step);
}

/**
 * The lines of any period, cut from the segments themselves: each segment × each
 * price version × each period it overlaps. The reference the daily sums are
 * tested against (daily.property.test.ts), and the path for periods that do not
 * start and end at midnight UTC.
 */
export function fromSegments(db: DbOrTx, tenantIds: string[], from: Date, to: Date, step: Step): Promise<PeriodLine[]> {
  return pricedLines(db, segmentParts(tenantIds, from, to, step), true);
}

/** The periods of [from, to): one, or one per `step`. */
function periodsSql(from: Date, to: Date, step: Step): SQL {
  return step === null
    ? sql`select ${from}::timestamptz as p0, ${to}::timestamptz as p1`
    : // Hours, not days: a day of the session's time zone could be 23 or 25 hours long.
      sql`select g as p0, least(g + ${step}::interval, ${to}::timestamptz) as p1
          from generate_series(${from}::timestamptz, ${to}::timestamptz - interval '1 microsecond', ${step}::interval) g`;
}

/** The first of the month at or after `d` (UTC). */
function monthAtOrAfter(d: Date): Date {
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  if (m < d) m.setUTCMonth(m.getUTCMonth() + 1);
  return m;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * A day-aligned period's parts: the closed segments' sums — usage_monthly's for
 * the whole months of a single period (rows that are lines already, `whole`),
 * usage_daily's for the other days — and the open segments, cut from
 * themselves, now (few: one per subject and resource).
 */
function fromDailySums(tenantIds: string[], from: Date, to: Date, step: Step): SQL {
  const ids = sql`${sql.param(tenantIds)}::uuid[]`;
  const names = ['tenant_id', 'instance_id', 'image_id', 'volume_id', 'resource', 'unit_seconds', 'seconds'];
  // A day's rows are priced here (per price version); a month's row carries its price already.
  const days = (a: Date, b: Date) =>
    sql`select ${sql.raw(names.map((c) => `u.${c}`).join(', '))}, u.unit_seconds * usage_price(pv, u.resource) as priced, u.day
        from usage_daily u join price_versions pv on pv.id = u.price_version_id
        where u.tenant_id = any(${ids}) and u.day >= ${isoDay(a)}::date and u.day < ${isoDay(b)}::date`;
  const m0 = monthAtOrAfter(from);
  const m1 = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), 1));
  const wholeMonths = step === null && m0 < m1;
  const closed = wholeMonths ? sql`${days(from, m0)} union all ${days(m1, to)}` : days(from, to);
  const months = sql`from usage_monthly where tenant_id = any(${ids}) and month >= ${isoDay(m0)}::date and month < ${isoDay(m1)}::date`;
  // One month's rows are one per line; several months' are summed per line first (a line joins one row).
  const oneMonth = m1.getTime() === Date.UTC(m0.getUTCFullYear(), m0.getUTCMonth() + 1, 1);
  const whole = !wholeMonths
    ? noWhole
    : oneMonth
      ? sql`select tenant_id, ${from}::timestamptz as p0, instance_id, image_id, volume_id, resource, unit_seconds, seconds, priced ${months}`
      : sql`select tenant_id, ${from}::timestamptz as p0, instance_id, image_id, volume_id, resource,
                   sum(unit_seconds) as unit_seconds, sum(seconds) as seconds, sum(priced) as priced
            ${months}
            group by tenant_id, instance_id, image_id, volume_id, resource`;
  return sql`
    with whole as (
      ${whole}
    ),
    closed as (
      ${closed}
    ),
    closed_parts as (
      select tenant_id, ${step === null ? sql`${from}::timestamptz` : sql`day::timestamp at time zone 'UTC'`} as p0,
             instance_id, image_id, volume_id, resource, null::uuid as price_version_id, unit_seconds, seconds, priced
      from closed
    ),
    ${segmentCuts(tenantIds, from, to, step, 'open', 'open_parts')},
    parts as (select * from closed_parts union all select * from open_parts)`;
}

/** No whole-month rows (`whole`'s shape, empty). */
const noWhole = sql`select null::uuid as tenant_id, null::timestamptz as p0, null::text as instance_id, null::text as image_id, null::text as volume_id,
                           null::usage_resource as resource, null::numeric as unit_seconds, null::numeric as seconds, null::numeric as priced
                    where false`;

/** Any period's parts, from the segments. */
function segmentParts(tenantIds: string[], from: Date, to: Date, step: Step): SQL {
  return sql`with whole as (${noWhole}), ${segmentCuts(tenantIds, from, to, step, 'all', 'parts')}`;
}

/**
 * WITH items ending in `name`: the parts of [from, to) cut from the segments
 * (all of them; or only the open ones from their billed_through on, which a
 * day-aligned period prices live).
 */
function segmentCuts(tenantIds: string[], from: Date, to: Date, step: Step, which: 'all' | 'open', name: string): SQL {
  const n = (item: string) => sql.raw(`${name}_${item}`);
  return sql`
    ${n('periods')} as (${periodsSql(from, to, step)}),
    ${n('seg')} as (
      select s.tenant_id, s.instance_id, s.image_id, s.volume_id, s.resource, s.quantity,
             ${which === 'open' ? sql`greatest(s.started_at, coalesce(s.billed_through, s.started_at))` : sql`s.started_at`} as s0,
             case when s.resource in (${runMinimumSql})
                  then greatest(coalesce(s.ended_at, now()), s.started_at + interval '60 seconds')
                  else coalesce(s.ended_at, now()) end as s1
      from usage_segments s
      where s.tenant_id = any(${sql.param(tenantIds)}::uuid[]) ${which === 'open' ? sql`and s.ended_at is null` : sql``}
        and s.started_at < ${to}
        and (s.ended_at is null or s.ended_at > ${from}::timestamptz - interval '60 seconds')
    ),
    ${n('spans')} as (
      select p.id, p.effective_from as v0,
             coalesce(lead(p.effective_from) over (order by p.effective_from), 'infinity'::timestamptz) as v1
      from price_versions p
    ),
    ${n('cut')} as (
      select seg.tenant_id, periods.p0, seg.instance_id, seg.image_id, seg.volume_id, seg.resource, seg.quantity, spans.id as price_version_id,
             extract(epoch from least(seg.s1, spans.v1, periods.p1) - greatest(seg.s0, spans.v0, periods.p0)) as seconds
      from ${n('seg')} seg
      join ${n('spans')} spans on spans.v0 < seg.s1 and spans.v1 > seg.s0
      join ${n('periods')} periods on periods.p0 < seg.s1 and periods.p1 > seg.s0
      where greatest(seg.s0, spans.v0, periods.p0) < least(seg.s1, spans.v1, periods.p1)
    ),
    ${sql.raw(name)} as (
      select cut.tenant_id, cut.p0, cut.instance_id, cut.image_id, cut.volume_id, cut.resource, cut.price_version_id,
             cut.quantity * cut.seconds as unit_seconds, cut.seconds, cut.quantity * cut.seconds * usage_price(pv, cut.resource) as priced
      from ${n('cut')} cut
      join price_versions pv on pv.id = cut.price_version_id
    )`;
}

/**
 * `whole` (rows that are lines already: usage_monthly's, one per tenant,
 * subject and resource) and `parts` (tenant_id, p0, subject, resource,
 * unit_seconds, seconds, priced: Σ unit-seconds × price) — a WITH clause ending
 * in `parts` — summed into `lines`: one per tenant, period, subject and
 * resource, rounded once. Only `parts` is grouped (numeric sums cost per
 * group); `whole` joins what they add to its line. `whole` has rows only when
 * there is one period, so the join is on one text key (tenant, subject,
 * resource): a hash join, where four keys made the planner sort a whole month
 * on keys that tie for every row to merge-join it. A sum with nothing to add
 * is the row's own (no numeric addition per line).
 */
const withLines = (withParts: SQL) => sql`
    ${withParts},
    part_lines as (
      select parts.tenant_id, parts.p0, parts.instance_id, parts.image_id, parts.volume_id, parts.resource,
             ${lineKey('parts')} as line,
             sum(parts.unit_seconds) as unit_seconds, sum(parts.seconds) as seconds, sum(parts.priced) as priced
      from parts
      group by parts.tenant_id, parts.p0, parts.instance_id, parts.image_id, parts.volume_id, parts.resource
    ),
    lines as (
      select coalesce(w.tenant_id, p.tenant_id) as tenant_id, coalesce(w.p0, p.p0) as p0,
             coalesce(w.instance_id, p.instance_id) as instance_id, coalesce(w.image_id, p.image_id) as image_id, coalesce(w.volume_id, p.volume_id) as volume_id,
             coalesce(w.resource, p.resource) as resource,
             coalesce(w.unit_seconds + p.unit_seconds, w.unit_seconds, p.unit_seconds) as unit_seconds,
             coalesce(w.seconds + p.seconds, w.seconds, p.seconds) as seconds,
             round(coalesce(w.priced + p.priced, w.priced, p.priced) / usage_divisor(coalesce(w.resource, p.resource))) as amount
      from whole w
      full join part_lines p on p.line = ${lineKey('w')}
    )`;

/** A line's key within a period: tenant, subject (instance, image and volume ids differ by their prefixes) and resource. */
const lineKey = (t: string) => sql.raw(`concat_ws(' ', ${t}.tenant_id, coalesce(${t}.instance_id, ${t}.image_id, ${t}.volume_id), ${t}.resource)`);

/**
 * The lines, named and in invoice order: per tenant and period (when there are
 * `several`, which the lines then say), instances by name, then volumes, then
 * images, by id. Without `several`, neither is sent nor sorted on: sort keys
 * that tie on every row made the sort of a 5,000-line invoice cost more than
 * the rest of its query, and parsing them cost the client as much again.
 */
async function pricedLines(db: DbOrTx, withParts: SQL, several: true): Promise<PeriodLine[]>;
async function pricedLines(db: DbOrTx, withParts: SQL, several: false): Promise<ChargeLine[]>;
async function pricedLines(db: DbOrTx, withParts: SQL, several: boolean): Promise<ChargeLine[]> {
  const { rows } = await db.execute<{
    tenant_id: string; // these two only when `several`
    period_ms: string;
    instance_id: string | null;
    instance_name: string | null;
    image_id: string | null;
    image_name: string | null;
    volume_id: string | null;
    volume_name: string | null;
    resource: ChargeLine['resource'];
    unit_seconds: string;
    seconds: string;
    amount: string;
  }>(sql`
    ${withLines(withParts)}
    select ${several ? sql`l.tenant_id, (extract(epoch from l.p0) * 1000)::bigint as period_ms, ` : sql``}
           l.instance_id, i.name as instance_name, l.image_id, m.name as image_name, l.volume_id, v.name as volume_name, l.resource,
           l.unit_seconds, l.seconds, l.amount
    from lines l
    left join instances i on i.id = l.instance_id
    left join images m on m.id = l.image_id
    left join volumes v on v.id = l.volume_id
    order by ${several ? sql`l.tenant_id, l.p0, ` : sql``}
             (case when l.image_id is not null then '2' || l.image_id when l.volume_id is not null then '1' || l.volume_id else '0' || coalesce(i.name, '') end),
             l.instance_id, l.resource
  `);
  return rows.map((r) => {
    const line: ChargeLine = {
      instanceId: r.instance_id,
      instanceName: r.instance_name,
      imageId: r.image_id,
      imageName: r.image_name,
      volumeId: r.volume_id,
      volumeName: r.volume_name,
      resource: r.resource,
      unitSeconds: Number(r.unit_seconds),
      seconds: Number(r.seconds),
      amountMicro: Number(r.amount),
    };
    // Milliseconds: a timestamptz per row would be parsed per row.
    return several ? { tenantId: r.tenant_id, periodStart: new Date(Number(r.period_ms)), ...line } : line;
  });
}

/** The lines' sum per tenant and period (no names, no lines sent). */
async function periodTotals(db: DbOrTx, withParts: SQL): Promise<{ tenantId: string; periodStart: Date; amountMicro: number }[]> {
  const { rows } = await db.execute<{ tenant_id: string; p0: Date; amount: string }>(sql`
    ${withLines(withParts)}
    select tenant_id, p0, sum(amount) as amount from lines group by tenant_id, p0 order by tenant_id, p0
  `);
  return rows.map((r) => ({ tenantId: r.tenant_id, periodStart: new Date(r.p0), amountMicro: Number(r.amount) }));
}
