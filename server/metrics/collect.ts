// What /metrics reads from the database when it is scraped: instances by
// state, the job queue, hosts' capacity and allocation, storage pools. Each
// source is one bounded read shared by the gauges made from it; a source that
// fails is logged, counted and left out of that scrape, never the whole scrape.
// Platform-wide figures only: no tenant ids or names as labels.
//
// 1. Sources and gauges · 2. Instances · 3. Jobs · 4. Hosts · 5. Storage pools
import { sql } from 'drizzle-orm';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../db/client';
import { hosts, instances } from '../db/schema';
import { allocatedOn, hostCapacity } from '../hosts';
import { instanceStates } from '../instances/can';
import { GiB, listPoolsForAdmin } from '../storage/pools';
import { processMetrics } from './registry';

const MiB = 1024 ** 2;

// ---------------------------------------------------------------- 1. sources and gauges
type Sample = { labels: Record<string, string>; value: number };
type Source<T> = { get: () => Promise<T | null>; failed: (err: unknown) => null };

/** Read once per scrape, however many gauges ask; a failure is logged and counted, and yields null. */
function source<T>(collector: string, read: () => Promise<T>, log: (m: string) => void): Source<T> {
  let pending: Promise<T | null> | null = null;
  const failed = (err: unknown) => {
    log(`[metrics] the ${collector} collector failed, left out of this scrape: ${err instanceof Error ? err.message : err}`);
    processMetrics().collectorErrors.inc({ collector });
    return null;
  };
  // Through a promise from the start, so a read that throws at once is caught like one that rejects.
  return { get: () => (pending ??= Promise.resolve().then(read).catch(failed)), failed };
}

/** A gauge whose samples are computed, at collect time, from a source's data (none when the source failed). */
function gauge<T>(registry: Registry, from: Source<T>, def: { name: string; help: string; labelNames: string[] }, samples: (data: T) => Sample[]) {
  new Gauge({
    ...def,
    registers: [registry],
    async collect() {
      const data = await from.get();
      if (data === null) return;
      try {
        for (const s of samples(data)) this.set(s.labels, s.value);
      } catch (err) {
        this.reset();
        from.failed(err);
      }
    },
  });
}

/**
 * A registry of the scrape-time gauges, made for one scrape: its collectors
 * read `db` when it is serialised. (The in-process metrics are in registry.ts;
 * handler.ts serves both.)
 */
export function scrapeRegistry(db: Db, log: (m: string) => void = console.error): Registry {
  const registry = new Registry();

  // -------------------------------------------------------------- 2. instances
  const byState = source('instances', () => db.select({ state: instances.state, n: sql<number>`count(*)::int` }).from(instances).groupBy(instances.state), log);
  gauge(registry, byState, { name: 'cirrus_instances', help: 'Instances on the platform by state (every state, zeros included).', labelNames: ['state'] }, (rows) => {
    const counts = new Map<string, number>(rows.map((r) => [r.state, r.n]));
    return instanceStates.map((state) => ({ labels: { state }, value: counts.get(state) ?? 0 }));
  });

  // -------------------------------------------------------------- 3. jobs
  // graphile-worker's tables (0.16: _private_tasks, _private_jobs, _private_job_queues).
  // A task identifier is `<kind>:<host id>` (server/jobs): labelled by kind and host name.
  // Every task ever registered is listed, so an emptied queue reads 0, not nothing.
  const jobs = source(
    'jobs',
    async () =>
      (
        await db.execute<{ task: string; host: string; waiting: number; scheduled: number; running: number; failed: number; oldest: number }>(sql`
          select split_part(t.identifier, ':', 1) as task,
                 coalesce(h.name, split_part(t.identifier, ':', 2)) as host,
                 count(j.id) filter (where j.is_available and j.run_at <= now())::int as waiting,
                 count(j.id) filter (where j.is_available and j.run_at > now())::int as scheduled,
                 count(j.id) filter (where j.locked_at is not null)::int as running,
                 count(j.id) filter (where j.locked_at is null and j.attempts >= j.max_attempts)::int as failed,
                 coalesce(extract(epoch from now() - min(j.run_at) filter (
                   where j.is_available and j.run_at <= now() and (q.id is null or q.is_available))), 0)::float8 as oldest
          from graphile_worker._private_tasks t
          left join graphile_worker._private_jobs j on j.task_id = t.id
          left join graphile_worker._private_job_queues q on q.id = j.job_queue_id
          left join ${hosts} h on h.id::text = split_part(t.identifier, ':', 2)
          group by t.identifier, h.name`)
      ).rows,
    log,
  );
  gauge(
    registry,
    jobs,
    {
      name: 'cirrus_jobs',
      help: 'Jobs in the queue by task kind, host and state: waiting (due, not yet taken), scheduled (a retry not yet due), running, failed (out of attempts).',
      labelNames: ['task', 'host', 'state'],
    },
    (rows) =>
      rows.flatMap((r) =>
        (['waiting', 'scheduled', 'running', 'failed'] as const).map((state) => ({ labels: { task: r.task, host: r.host, state }, value: r[state] })),
      ),
  );
  gauge(
    registry,
    jobs,
    {
      name: 'cirrus_jobs_oldest_runnable_age_seconds',
      help: 'How long the oldest job that could run now (due, not taken, its queue free) has waited, by task kind and host; 0 when none waits.',
      labelNames: ['task', 'host'],
    },
    (rows) => rows.map((r) => ({ labels: { task: r.task, host: r.host }, value: r.oldest })),
  );

  // -------------------------------------------------------------- 4. hosts
  // Capacity and allocation as placement sees them (hostCapacity, allocatedOn): one read of
  // the hosts and one of each host's allocation — a few hosts, not one query per instance.
  const hostFigures = source(
    'hosts',
    async () => {
      const rows = await db.select().from(hosts).orderBy(hosts.name);
      const out = [];
      for (const h of rows) out.push({ host: h.name, capacity: hostCapacity(h), allocated: await allocatedOn(db, h.id) });
      return out;
    },
    log,
  );
  const perHost = (name: string, help: string, value: (h: NonNullable<Awaited<ReturnType<typeof hostFigures.get>>>[number]) => number) =>
    gauge(registry, hostFigures, { name, help, labelNames: ['host'] }, (rows) => rows.map((h) => ({ labels: { host: h.host }, value: value(h) })));
  perHost('cirrus_host_vcpus', 'vCPUs a host can hold: its cores times its CPU allocation ratio.', (h) => h.capacity.vcpus);
  perHost('cirrus_host_memory_bytes', 'Guest memory a host can hold: its RAM times its RAM ratio, less the reserve.', (h) => h.capacity.memoryMiB * MiB);
  perHost('cirrus_host_disk_bytes', 'Guest disk a host can hold (its free disk when it registered).', (h) => h.capacity.diskGiB * GiB);
  perHost('cirrus_host_vcpus_allocated', 'vCPUs of the instances placed on a host (suspended ones hold none).', (h) => h.allocated.vcpus);
  perHost('cirrus_host_memory_allocated_bytes', 'Memory of the instances placed on a host (suspended ones hold none).', (h) => h.allocated.memoryMiB * MiB);
  perHost('cirrus_host_disk_allocated_bytes', 'Root disks of the instances placed on a host.', (h) => h.allocated.diskGiB * GiB);

  // -------------------------------------------------------------- 5. storage pools
  const pools = source('storage-pools', () => listPoolsForAdmin(db), log);
  const perPool = (name: string, help: string, value: (p: Awaited<ReturnType<typeof listPoolsForAdmin>>[number]) => number) =>
    gauge(registry, pools, { name, help, labelNames: ['pool', 'host'] }, (rows) => rows.map((p) => ({ labels: { pool: p.name, host: p.hostName }, value: value(p) })));
  perPool('cirrus_storage_pool_capacity_bytes', 'What a storage pool may promise to volumes.', (p) => p.capacityBytes);
  perPool('cirrus_storage_pool_allocated_bytes', 'What a storage pool has promised to its volumes (their sizes; deleting ones included).', (p) => p.allocatedGiB * GiB);
  perPool('cirrus_storage_pool_used_bytes', 'What its volumes’ files take in a storage pool now.', (p) => p.usedBytes);

  return registry;
}
