// Downsampling and retention of guest monitoring samples (the tiers and why
// they are what they are: monitoring-tiers.ts). One pass: roll raw samples
// into 1-minute rows and those into 15-minute rows, then delete what each
// tier no longer keeps, a bounded batch at a time. Every host's sampler runs
// it about once a minute; an advisory lock lets one of them do it at a time,
// and every step is idempotent, so a pass cut short is finished by the next.
import { sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { ROLLUP_GRACE_SECONDS, TIERS, type SampleTier } from './monitoring-tiers';

/** Rows one retention delete removes at most; a pass deletes at most DELETE_BATCHES of them per tier. */
const DELETE_BATCH = 5000;
const DELETE_BATCHES = 20;

const weighted = (col: string) => `sum(s.${col} * s.samples) / sum(s.samples)`;
const weightedOrNull = (col: string) => `sum(s.${col} * s.samples) / nullif(sum(s.samples) filter (where s.${col} is not null), 0)`;

/**
 * A bucket's values from the rows `s` in it, in column order (cpu_pct,
 * cpu_pct_max, memory_total_bytes, memory_resident_bytes, disk_read_bps,
 * disk_write_bps, net_rx_bps, net_tx_bps): the rollups' and the wide chart
 * buckets' (monitoring.ts) one definition.
 */
export const BUCKET_VALUES = [
  weighted('cpu_pct'),
  'max(s.cpu_pct_max)',
  'max(s.memory_total_bytes)',
  weighted('memory_resident_bytes'),
  weighted('disk_read_bps'),
  weighted('disk_write_bps'),
  weightedOrNull('net_rx_bps'),
  weightedOrNull('net_tx_bps'),
] as const;
const bucketValues = sql.raw(BUCKET_VALUES.join(', '));

/**
 * Roll the `from` tier of every instance into `to`'s buckets, for the buckets
 * that have ended (ROLLUP_GRACE_SECONDS ago) from the instance's latest
 * rolled bucket on: that one is computed again, so a sample that came late
 * is in it. A bucket's mean of a value is its rows' means weighted by the raw
 * samples each stands for (so exactly the mean of the raw samples), its CPU
 * max their max, its memory given the most the guest had. A NIC rate is the
 * mean over the rows that have one (null: the host sees none of its NICs).
 * Returns the buckets written.
 */
export async function rollUp(db: DbOrTx, to: Exclude<SampleTier, 'raw'>): Promise<number> {
  const { widthSeconds, from } = TIERS[to];
  const keptSeconds = TIERS[from].retentionSeconds;
  const width = sql`make_interval(secs => ${widthSeconds})`;
  const res = await db.execute(sql`
    insert into instance_samples (instance_id, tenant_id, tier, at, samples, cpu_pct, cpu_pct_max, memory_total_bytes,
      memory_resident_bytes, disk_read_bps, disk_write_bps, net_rx_bps, net_tx_bps)
    select s.instance_id, s.tenant_id, ${to}::sample_tier, date_bin(${width}, s.at, timestamptz 'epoch') as bucket, sum(s.samples),
      ${bucketValues}
    from instance_samples s
    where s.tier = ${from}::sample_tier
      and s.at >= now() - make_interval(secs => ${keptSeconds})
      and s.at < date_bin(${width}, now() - make_interval(secs => ${ROLLUP_GRACE_SECONDS}), timestamptz 'epoch')
      and s.at >= coalesce(
        (select max(r.at) from instance_samples r where r.instance_id = s.instance_id and r.tier = ${to}::sample_tier),
        '-infinity'::timestamptz)
    group by s.instance_id, s.tenant_id, bucket
    on conflict (instance_id, tier, at) do update set
      samples = excluded.samples, cpu_pct = excluded.cpu_pct, cpu_pct_max = excluded.cpu_pct_max,
      memory_total_bytes = excluded.memory_total_bytes, memory_resident_bytes = excluded.memory_resident_bytes,
      disk_read_bps = excluded.disk_read_bps, disk_write_bps = excluded.disk_write_bps,
      net_rx_bps = excluded.net_rx_bps, net_tx_bps = excluded.net_tx_bps`);
  return res.rowCount ?? 0;
}

/** Delete a tier's rows older than it keeps, in bounded batches; returns how many went. */
export async function expire(db: DbOrTx, tier: SampleTier): Promise<number> {
  let total = 0;
  for (let i = 0; i < DELETE_BATCHES; i++) {
    const res = await db.execute(sql`
      delete from instance_samples where ctid = any(array(
        select ctid from instance_samples
        where tier = ${tier}::sample_tier and at < now() - make_interval(secs => ${TIERS[tier].retentionSeconds})
        limit ${DELETE_BATCH}))`);
    const n = res.rowCount ?? 0;
    total += n;
    if (n < DELETE_BATCH) break;
  }
  return total;
}

export type MaintenanceResult = { rolled: Record<'1m' | '15m', number>; expired: Record<SampleTier, number> } | null;

/**
 * One pass of rollups, then retention (rolling first, so samples that the
 * server was down too long to roll in time still make their buckets); null
 * when another host's pass holds the lock.
 */
export async function maintainSamples(db: Db): Promise<MaintenanceResult> {
  return db.transaction(async (tx) => {
    const got = await tx.execute<{ ok: boolean }>(sql`select pg_try_advisory_xact_lock(hashtextextended('cirrus:instance_samples:maintenance', 0)) as ok`);
    if (!got.rows[0]?.ok) return null;
    const rolled = { '1m': await rollUp(tx, '1m'), '15m': await rollUp(tx, '15m') };
    const expired = { raw: await expire(tx, 'raw'), '1m': await expire(tx, '1m'), '15m': await expire(tx, '15m') };
    return { rolled, expired };
  });
}
