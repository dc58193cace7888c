// Guest monitoring, as a tenant reads it: one instance's CPU, memory, disk and
// network series over the last hour, day or week (instances.metrics).
// The sampler (monitoring-sampler.ts) writes them, the rollups
// (monitoring-rollup.ts) thin them; the tiers are in monitoring-tiers.ts.
import { and, desc, eq, gte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../db/client';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { instanceSamples } from '../db/schema';
import { getInstance } from '../instances/queries';
import { instanceIdSchema } from '../instances/validation';
import { BUCKET_VALUES } from './monitoring-rollup';
import { MAX_POINTS, METRICS_RANGES, RANGES, rangeResolution, sampleSeconds } from './monitoring-tiers';

export { Sampler, type SamplerOptions, type SampleRound } from './monitoring-sampler';
export { sampleSeconds } from './monitoring-tiers';

export const metricsInput = z.object({ instanceId: instanceIdSchema, range: z.enum(METRICS_RANGES) });
export type MetricsInput = z.infer<typeof metricsInput>;

/** Every read of samples starts here (of the table or an alias of it): a forgotten tenant filter cannot be written by accident. */
const ofTenantSamples = (t: { tenantId: AnyPgColumn }, tenantId: string, ...conds: (SQL | undefined)[]) => and(eq(t.tenantId, tenantId), ...conds);

/** The columns of a sample a tenant sees (per-second rates; bytes; CPU % of the instance's vCPUs). */
const pointColumns = {
  at: instanceSamples.at,
  cpuPct: instanceSamples.cpuPct,
  cpuPctMax: instanceSamples.cpuPctMax,
  memoryTotalBytes: instanceSamples.memoryTotalBytes,
  memoryResidentBytes: instanceSamples.memoryResidentBytes,
  diskReadBps: instanceSamples.diskReadBps,
  diskWriteBps: instanceSamples.diskWriteBps,
  netRxBps: instanceSamples.netRxBps,
  netTxBps: instanceSamples.netTxBps,
};

export type MetricsPoint = { [K in keyof typeof pointColumns]: (typeof instanceSamples.$inferSelect)[K] };

export type InstanceMetrics = {
  range: MetricsInput['range'];
  /** The database's now, and the start of the range. */
  from: Date;
  to: Date;
  /** What one point stands for: the sample interval, a tier's bucket, or a wider bucket of it. */
  resolutionSeconds: number;
  /** How often this host samples: a new raw point about this often while the instance runs. */
  sampleSeconds: number;
  /** Oldest first; at most MAX_POINTS. */
  points: MetricsPoint[];
};

/**
 * One instance's samples over `range`, read from the tier that range uses
 * (monitoring-tiers.ts), in buckets wider than the tier's when it has more
 * than MAX_POINTS rows in the range. An instance of another tenant (or none)
 * is NOT_FOUND; a terminated one has what its retention kept.
 */
export async function instanceMetrics(db: DbOrTx, tenantId: string, input: MetricsInput): Promise<InstanceMetrics> {
  await getInstance(db, tenantId, input.instanceId);
  const every = sampleSeconds();
  const { tier, seconds, native } = rangeResolution(input.range, every);
  const clock = await db.execute<{ now_ms: number }>(sql`select extract(epoch from now())::float8 * 1000 as now_ms`);
  const to = new Date(clock.rows[0]!.now_ms);
  const from = new Date(to.getTime() - RANGES[input.range].seconds * 1000);
  const inRange = (t: Record<'tenantId' | 'instanceId' | 'tier' | 'at', AnyPgColumn>) => ofTenantSamples(t, tenantId, eq(t.instanceId, input.instanceId), eq(t.tier, tier), gte(t.at, from));

  if (native) {
    const newest = await db.select(pointColumns).from(instanceSamples).where(inRange(instanceSamples)).orderBy(desc(instanceSamples.at)).limit(MAX_POINTS);
    return { range: input.range, from, to, resolutionSeconds: seconds, sampleSeconds: every, points: newest.reverse() };
  }
  // The bucket values are written over rows named `s` (as the rollups read them).
  const s = alias(instanceSamples, 's');
  // The width is written into the query (a whole number of ours), so GROUP BY and ORDER BY are the same expression as the select's.
  const bucket = sql`date_bin(make_interval(secs => ${sql.raw(String(Math.trunc(seconds)))}), ${s.at}, timestamptz 'epoch')`;
  const value = (i: number) => sql<number>`${sql.raw(BUCKET_VALUES[i]!)}`.mapWith(Number);
  const nullable = (i: number) => sql<number | null>`${sql.raw(BUCKET_VALUES[i]!)}`.mapWith((v) => (v === null ? null : Number(v)));
  const rows = await db
    .select({
      at: sql<Date>`${bucket}`.mapWith(s.at),
      cpuPct: value(0),
      cpuPctMax: value(1),
      memoryTotalBytes: value(2),
      memoryResidentBytes: value(3),
      diskReadBps: value(4),
      diskWriteBps: value(5),
      netRxBps: nullable(6),
      netTxBps: nullable(7),
    })
    .from(s)
    .where(inRange(s))
    .groupBy(bucket)
    .orderBy(desc(bucket))
    .limit(MAX_POINTS);
  return { range: input.range, from, to, resolutionSeconds: seconds, sampleSeconds: every, points: rows.reverse() };
}
