// Charges are computed, never accumulated: usage segments × the price in force
// for each part of each segment (a price change mid-segment splits it), clipped
// to the period asked for. Compute segments (vCPU, memory) are billed for at
// least 60 seconds per run, then per second; disk and NICs per second.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';

export type ChargeLine = {
  instanceId: string;
  instanceName: string;
  resource: 'vcpu' | 'memory_mib' | 'disk_gib' | 'nic';
  /** Unit-seconds: quantity × seconds (memory in MiB-seconds). */
  unitSeconds: number;
  seconds: number;
  amountMicro: number;
};

/**
 * Every (instance, resource) line of a tenant's charges in [from, to), in
 * integer micro-units (rounded once per line). Durations come from the
 * database's own timestamps; `now()` ends open segments.
 */
export async function chargeLines(db: DbOrTx, tenantId: string, from: Date, to: Date): Promise<ChargeLine[]> {
  const { rows } = await db.execute<{
    instance_id: string;
    instance_name: string;
    resource: ChargeLine['resource'];
    unit_seconds: string;
    seconds: string;
    amount: string;
  }>(sql`
    with seg as (
      select s.instance_id, s.resource, s.quantity, s.started_at as s0,
             case when s.resource in ('vcpu', 'memory_mib')
                  then greatest(coalesce(s.ended_at, now()), s.started_at + interval '60 seconds')
                  else coalesce(s.ended_at, now()) end as s1
      from usage_segments s
      where s.tenant_id = ${tenantId}
        and s.started_at < ${to}
        and (s.ended_at is null or s.ended_at > ${from}::timestamptz - interval '60 seconds')
    ),
    pv as (
      select p.*, p.effective_from as v0,
             coalesce(lead(p.effective_from) over (order by p.effective_from), 'infinity'::timestamptz) as v1
      from price_versions p
    ),
    parts as (
      select seg.instance_id, seg.resource, seg.quantity,
             extract(epoch from least(seg.s1, pv.v1, ${to}::timestamptz) - greatest(seg.s0, pv.v0, ${from}::timestamptz)) as secs,
             case seg.resource
               when 'vcpu' then pv.vcpu_hour::numeric
               when 'memory_mib' then pv.memory_gib_hour::numeric / 1024
               when 'disk_gib' then pv.disk_gib_hour::numeric
               else pv.nic_hour::numeric end as unit_price_hour
      from seg join pv on pv.v0 < seg.s1 and pv.v1 > seg.s0
      where greatest(seg.s0, pv.v0, ${from}::timestamptz) < least(seg.s1, pv.v1, ${to}::timestamptz)
    )
    select parts.instance_id, i.name as instance_name, parts.resource,
           sum(parts.quantity * parts.secs) as unit_seconds,
           sum(parts.secs) as seconds,
           round(sum(parts.quantity * parts.unit_price_hour * parts.secs / 3600)) as amount
    from parts join instances i on i.id = parts.instance_id
    group by parts.instance_id, i.name, parts.resource
    order by i.name, parts.instance_id, parts.resource
  `);
  return rows.map((r) => ({
    instanceId: r.instance_id,
    instanceName: r.instance_name,
    resource: r.resource,
    unitSeconds: Number(r.unit_seconds),
    seconds: Number(r.seconds),
    amountMicro: Number(r.amount),
  }));
}
