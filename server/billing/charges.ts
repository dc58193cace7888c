// Charges are computed, never accumulated: usage segments × the price in force
// for each part of each segment (a price change mid-segment splits it), clipped
// to the period asked for. Compute segments (vCPU, memory) are billed for at
// least 60 seconds per run, then per second; everything else per second
// (server/billing/resources.ts lists the resources and their prices).
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { billedResources, priceOf, RUN_MINIMUM_RESOURCES, type BilledResource } from './resources';

// The price of each resource per metered unit-hour, as SQL over a price_versions row `pv` (constants only).
const unitPriceSql = sql.raw(
  `case seg.resource ${billedResources.map((r) => `when '${r}' then pv.${priceOf[r].column}::numeric / ${priceOf[r].per}`).join(' ')} end`,
);
const runMinimumSql = sql.raw(RUN_MINIMUM_RESOURCES.map((r) => `'${r}'`).join(', '));

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
export async function chargeLines(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<ChargeLine[]> {
  return (await periodLines(db, [tenantId], from, to, null)).map(({ periodStart: _p, tenantId: _t, ...line }) => line);
}

/**
 * What each of `tenantIds` is charged for [from, to): the sum of its
 * `chargeLines`, rounded the same way, for many tenants in one query.
 * Tenants without charges are absent.
 */
export async function chargeTotals(db: DbOrTx, tenantIds: string[], from: Date, to: Date): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  if (tenantIds.length === 0) return totals;
  for (const l of await periodLines(db, tenantIds, from, to, null)) totals.set(l.tenantId, (totals.get(l.tenantId) ?? 0) + l.amountMicro);
  return totals;
}

/**
 * The tenant's charges per UTC day of [from, to), each day summed from lines
 * rounded exactly as `chargeLines(day start, day end)` rounds them — in one
 * query instead of one per day. Days without charges are left out.
 */
export async function dailyCharges(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<{ day: string; amountMicro: number }[]> {
  const byDay = new Map<string, number>();
  for (const l of await periodLines(db, [tenantId], from, to, '24 hours')) {
    const day = l.periodStart.toISOString().slice(0, 10);
    byDay.set(day, (byDay.get(day) ?? 0) + l.amountMicro);
  }
  return [...byDay.entries()].map(([day, amountMicro]) => ({ day, amountMicro }));
}

/** Charge lines of [from, to) per tenant, cut into periods of `step` (an absolute interval; null: one period). */
async function periodLines(
  db: DbOrTx,
  tenantIds: string[],
  from: Date,
  to: Date,
  step: '24 hours' | null,
): Promise<(ChargeLine & { tenantId: string; periodStart: Date })[]> {
  const { rows } = await db.execute<{
    tenant_id: string;
    period_start: Date;
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
    with periods as (${
      step === null
        ? sql`select ${from}::timestamptz as p0, ${to}::timestamptz as p1`
        : // Hours, not days: a day of the session's time zone could be 23 or 25 hours long.
          sql`select g as p0, least(g + ${step}::interval, ${to}::timestamptz) as p1
              from generate_series(${from}::timestamptz, ${to}::timestamptz - interval '1 microsecond', ${step}::interval) g`
    }),
    seg as (
      select s.tenant_id, s.instance_id, s.image_id, s.volume_id, s.resource, s.quantity, s.started_at as s0,
             case when s.resource in (${runMinimumSql})
                  then greatest(coalesce(s.ended_at, now()), s.started_at + interval '60 seconds')
                  else coalesce(s.ended_at, now()) end as s1
      from usage_segments s
      where s.tenant_id = any(${sql.param(tenantIds)}::uuid[])
        and s.started_at < ${to}
        and (s.ended_at is null or s.ended_at > ${from}::timestamptz - interval '60 seconds')
    ),
    pv as (
      select p.*, p.effective_from as v0,
             coalesce(lead(p.effective_from) over (order by p.effective_from), 'infinity'::timestamptz) as v1
      from price_versions p
    ),
    parts as (
      select seg.tenant_id, periods.p0, seg.instance_id, seg.image_id, seg.volume_id, seg.resource, seg.quantity,
             extract(epoch from least(seg.s1, pv.v1, periods.p1) - greatest(seg.s0, pv.v0, periods.p0)) as secs,
             ${unitPriceSql} as unit_price_hour
      from seg
      join pv on pv.v0 < seg.s1 and pv.v1 > seg.s0
      join periods on periods.p0 < seg.s1 and periods.p1 > seg.s0
      where greatest(seg.s0, pv.v0, periods.p0) < least(seg.s1, pv.v1, periods.p1)
    )
    select parts.tenant_id, parts.p0 as period_start, parts.instance_id, i.name as instance_name, parts.image_id, m.name as image_name, parts.volume_id, v.name as volume_name, parts.resource,
           sum(parts.quantity * parts.secs) as unit_seconds,
           sum(parts.secs) as seconds,
           round(sum(parts.quantity * parts.unit_price_hour * parts.secs / 3600)) as amount
    from parts
    left join instances i on i.id = parts.instance_id
    left join images m on m.id = parts.image_id
    left join volumes v on v.id = parts.volume_id
    group by parts.tenant_id, parts.p0, parts.instance_id, i.name, parts.image_id, m.name, parts.volume_id, v.name, parts.resource
    order by parts.tenant_id, parts.p0, parts.image_id nulls first, parts.volume_id nulls first, coalesce(i.name, m.name, v.name), parts.instance_id, parts.image_id, parts.volume_id, parts.resource
  `);
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    periodStart: new Date(r.period_start),
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
  }));
}
