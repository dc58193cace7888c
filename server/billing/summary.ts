import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { images, instances, tenantBudgets, usageSegments, volumes } from '../db/schema';
import { DomainError } from '../errors';
import { chargeLines, dailyCharges, type ChargeLine } from './charges';
import { currentPrices } from './prices';
import { unitRate } from './resources';

export const HOURS_PER_MONTH = 730;
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'Use a month like 2026-11.');

/** The database clock's now and the bounds of its current month (UTC). */
export async function clock(db: DbOrTx): Promise<{ now: Date; monthStart: Date; monthEnd: Date }> {
  const { rows } = await db.execute<{ now: Date; month_start: Date; month_end: Date }>(
    sql`select now() as now, date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' as month_start,
               (date_trunc('month', now() at time zone 'UTC') + interval '1 month') at time zone 'UTC' as month_end`,
  );
  const r = rows[0]!;
  return { now: new Date(r.now), monthStart: new Date(r.month_start), monthEnd: new Date(r.month_end) };
}

type Prices = Awaited<ReturnType<typeof currentPrices>>;
export type BilledSize = { vcpus: number; memoryMiB: number; diskGiB: number; nics: number; bandwidthMbit?: number };

/** Micro-units per hour for a size at the given prices (not rounded: callers round once). NIC rates are billed while running. */
export function hourlyRate(p: Prices, size: BilledSize, running = true) {
  const compute = running
    ? unitRate(p, 'vcpu', size.vcpus) + unitRate(p, 'memory_mib', size.memoryMiB) + unitRate(p, 'bandwidth_mbit', size.bandwidthMbit ?? 0)
    : 0;
  return compute + unitRate(p, 'disk_gib', size.diskGiB) + unitRate(p, 'nic', size.nics);
}

export async function estimate(db: DbOrTx, size: BilledSize) {
  const p = await currentPrices(db);
  const hourly = hourlyRate(p, size);
  return { currency: p.currency, hourlyMicro: Math.round(hourly), monthlyMicro: Math.round(hourly * HOURS_PER_MONTH), hoursPerMonth: HOURS_PER_MONTH };
}

/** What the tenant's open segments cost per hour at today's prices. */
async function currentRate(db: DbOrTx, tenantId: string): Promise<number> {
  const p = await currentPrices(db);
  const open = await db
    .select({ resource: usageSegments.resource, quantity: sql<number>`sum(${usageSegments.quantity})::int` })
    .from(usageSegments)
    .where(and(eq(usageSegments.tenantId, tenantId), isNull(usageSegments.endedAt)))
    .groupBy(usageSegments.resource);
  return open.reduce((sum, r) => sum + unitRate(p, r.resource, r.quantity), 0);
}

const sum = (lines: ChargeLine[]) => lines.reduce((a, l) => a + l.amountMicro, 0);

export async function getBudget(db: DbOrTx, tenantId: string) {
  const [b] = await db.select().from(tenantBudgets).where(eq(tenantBudgets.tenantId, tenantId));
  return b ? { monthlyMicro: b.monthlyMicro, hardCap: b.hardCap } : null;
}

export async function setBudget(db: DbOrTx, actor: Actor, tenantId: string, input: { monthlyMicro: number | null; hardCap: boolean }) {
  await db.transaction(async (tx) => {
    if (input.monthlyMicro === null) await tx.delete(tenantBudgets).where(eq(tenantBudgets.tenantId, tenantId));
    else
      await tx
        .insert(tenantBudgets)
        .values({ tenantId, monthlyMicro: input.monthlyMicro, hardCap: input.hardCap })
        .onConflictDoUpdate({ target: tenantBudgets.tenantId, set: { monthlyMicro: input.monthlyMicro, hardCap: input.hardCap, updatedAt: sql`now()` } });
    await recordAudit(tx, actor, { action: 'billing.budget.set', tenantId, target: { type: 'tenant', id: tenantId }, detail: input });
  });
}

/** Month to date: total, forecast to month end at the current rate, breakdowns, daily costs and the budget's standing. */
export async function billingSummary(db: DbOrTx, tenantId: string) {
  const { now, monthStart, monthEnd } = await clock(db);
  const p = await currentPrices(db);
  // Open segments end at now() (or a run's 60-second minimum) inside chargeLines, so the month's end is the right bound.
  const lines = await chargeLines(db, tenantId, monthStart, monthEnd);
  const total = sum(lines);
  const ratePerHour = await currentRate(db, tenantId);
  const forecast = Math.round(total + (ratePerHour * (monthEnd.getTime() - now.getTime())) / 3_600_000);

  // Per instance, per image for the tenant's own images' storage, and per volume.
  const byInstance = new Map<string, { instanceId: string | null; imageId: string | null; volumeId: string | null; name: string; amountMicro: number }>();
  const byResource = new Map<ChargeLine['resource'], number>();
  for (const l of lines) {
    const key = l.instanceId ?? l.imageId ?? l.volumeId!;
    const e = byInstance.get(key) ?? { instanceId: l.instanceId, imageId: l.imageId, volumeId: l.volumeId, name: l.instanceName ?? l.imageName ?? l.volumeName ?? key, amountMicro: 0 };
    e.amountMicro += l.amountMicro;
    byInstance.set(key, e);
    byResource.set(l.resource, (byResource.get(l.resource) ?? 0) + l.amountMicro);
  }
  // Every day of the month so far, charged or not (the chart shows the quiet days too).
  const charged = new Map((await dailyCharges(db, tenantId, monthStart, monthEnd)).map((d) => [d.day, d.amountMicro]));
  const daily: { day: string; amountMicro: number }[] = [];
  for (let d = monthStart.getTime(); d < now.getTime(); d += 86_400_000) {
    const day = new Date(d).toISOString().slice(0, 10);
    daily.push({ day, amountMicro: charged.get(day) ?? 0 });
  }
  const budget = await getBudget(db, tenantId);
  return {
    currency: p.currency,
    month: monthStart.toISOString().slice(0, 7),
    asOf: now,
    totalMicro: total,
    forecastMicro: forecast,
    ratePerHourMicro: Math.round(ratePerHour),
    byInstance: [...byInstance.values()].sort((a, b) => b.amountMicro - a.amountMicro),
    byResource: [...byResource.entries()].map(([resource, amountMicro]) => ({ resource, amountMicro })),
    daily,
    pastMonths: (await invoiceMonths(db, tenantId)).filter((m) => m !== monthStart.toISOString().slice(0, 7)),
    budget: budget ? { ...budget, usedPct: budget.monthlyMicro > 0 ? Math.floor((total * 100) / budget.monthlyMicro) : 100 } : null,
  };
}

/** One month's invoice lines (the current month runs to now). */
export async function invoice(db: DbOrTx, tenantId: string, month: string) {
  const from = new Date(`${month}-01T00:00:00Z`);
  const to = new Date(from);
  to.setUTCMonth(to.getUTCMonth() + 1);
  const { now } = await clock(db);
  if (from > now) throw new DomainError('INVALID_INPUT', `${month} has not started yet.`, 'month');
  const lines = await chargeLines(db, tenantId, from, to);
  const p = await currentPrices(db);
  return { month, currency: p.currency, final: to <= now, lines, totalMicro: sum(lines) };
}

/**
 * Months with any usage, newest first (for the past invoices list): the months
 * of usage_daily's days, found by walking its (tenant, day) index a month at a
 * time, and the months an open segment has run through.
 */
export async function invoiceMonths(db: DbOrTx, tenantId: string): Promise<string[]> {
  const { rows } = await db.execute<{ m: string }>(sql`
    with recursive closed(d) as (
      select max(day) from usage_daily where tenant_id = ${tenantId}
      union all
      select (select max(u.day) from usage_daily u where u.tenant_id = ${tenantId} and u.day < date_trunc('month', closed.d)::date)
      from closed where closed.d is not null
    )
    select m from (
      select to_char(d, 'YYYY-MM') as m from closed where d is not null
      union
      select to_char(g, 'YYYY-MM') from usage_segments s,
             generate_series(date_trunc('month', s.started_at at time zone 'UTC'), date_trunc('month', now() at time zone 'UTC'), interval '1 month') g
      where s.tenant_id = ${tenantId} and s.ended_at is null
    ) months
    order by m desc limit 36`);
  return rows.map((r) => r.m);
}

/** The raw ledger for a period: every segment that overlaps it. */
export async function ledger(db: DbOrTx, tenantId: string, from: Date, to: Date) {
  return db
    .select({
      id: usageSegments.id,
      instanceId: usageSegments.instanceId,
      instanceName: instances.name,
      imageId: usageSegments.imageId,
      imageName: images.name,
      volumeId: usageSegments.volumeId,
      volumeName: volumes.name,
      resource: usageSegments.resource,
      quantity: usageSegments.quantity,
      startedAt: usageSegments.startedAt,
      endedAt: usageSegments.endedAt,
    })
    .from(usageSegments)
    .leftJoin(instances, eq(instances.id, usageSegments.instanceId))
    .leftJoin(images, eq(images.id, usageSegments.imageId))
    .leftJoin(volumes, eq(volumes.id, usageSegments.volumeId))
    .where(and(eq(usageSegments.tenantId, tenantId), lt(usageSegments.startedAt, to), or(isNull(usageSegments.endedAt), gt(usageSegments.endedAt, from))))
    .orderBy(usageSegments.startedAt, usageSegments.id)
    .limit(100_000);
}
