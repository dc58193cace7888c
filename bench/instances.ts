// instances.list latency with 10,000 instances in one tenant, and launch
// decisions per second for 1,000 concurrent launch requests. Real PostgreSQL
// (embedded, or BENCH_DATABASE_URL); the launches only decide and enqueue, so
// no hypervisor runs here: the host is registered as an in-memory ("fake") one.
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { instances } from '../server/db/schema';
import { newInstanceId } from '../server/instances/ids';
import { benchDatabase } from './database';
import { setQuota, setUpCompute, tiny } from '../server/test/compute';
import { callerAs, makeTenant, makeUser } from '../server/test/factories';
import { atMost, type BenchModule } from './types';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function timeCalls(n: number, fn: () => Promise<unknown>) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95) };
}

const bench: BenchModule = {
  name: 'instances',
  description: 'instances.list with 10,000 instances; 1,000 concurrent launch decisions in one tenant and over 10 (in-memory driver, real PostgreSQL)',
  async run() {
    const { db, close } = await benchDatabase('instances', 20);
    try {
      await setUpCompute(db, { cpus: 1000 });
      const owner = await makeUser(db);
      const tenant = await makeTenant(db, owner, `bench-${crypto.randomBytes(3).toString('hex')}`);
      await setQuota(db, tenant.id, { instances: 100_000, vcpus: 1_000_000, memoryMiB: 1_000_000_000, diskGiB: 100_000_000, nics: 1_000_000 });

      // 10,000 instances in one tenant, in bulk.
      const states = ['running', 'stopped', 'running', 'terminated'] as const;
      for (let batch = 0; batch < 10; batch++) {
        await db.insert(instances).values(
          Array.from({ length: 1000 }, (_, i) => ({
            id: newInstanceId(),
            tenantId: tenant.id,
            name: `node-${batch}-${i}`,
            imageId: tiny.imageId,
            vcpus: 1,
            memoryMiB: 128,
            diskGiB: 1,
            nics: 1,
            tags: { tier: i % 2 ? 'web' : 'db' },
            state: states[i % 4]!,
          })),
        );
      }
      await db.execute('analyze instances');
      const api = callerAs(db, owner).instances;
      const first = await timeCalls(200, () => api.list({ tenantId: tenant.id, limit: 20 }));
      let cursor: string | null = null;
      for (let i = 0; i < 100; i++) cursor = (await api.list({ tenantId: tenant.id, limit: 50, cursor })).nextCursor;
      const deep = await timeCalls(200, () => api.list({ tenantId: tenant.id, limit: 20, cursor }));
      const filtered = await timeCalls(200, () => api.list({ tenantId: tenant.id, limit: 20, name: 'node-7-9', tag: { key: 'tier', value: 'db' } }));

      // 1,000 concurrent launches against a quota with room for 200 (its default network, a /24, holds 253).
      const burstTenant = await makeTenant(db, owner, 'burst');
      await setQuota(db, burstTenant.id, { instances: 200 });
      const t0 = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: 1000 }, (_, i) => callerAs(db, owner).instances.launch({ tenantId: burstTenant.id, ...tiny, name: `b-${i}` })),
      );
      const seconds = (performance.now() - t0) / 1000;
      const accepted = results.filter((r) => r.status === 'fulfilled').length;
      const quotaRefusals = results.filter((r) => r.status === 'rejected' && /quota exceeded/.test(String(r.reason))).length;

      // 1,000 concurrent launches spread over 10 tenants: one tenant's launches queue on its
      // quota lock by design, different tenants' must not wait for one another.
      const spread = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const t = await makeTenant(db, owner, `spread-${i}`);
          await setQuota(db, t.id, { instances: 200 });
          return t.id;
        }),
      );
      const t1 = performance.now();
      const cpu1 = process.cpuUsage();
      const spreadResults = await Promise.allSettled(
        Array.from({ length: 1000 }, (_, i) => callerAs(db, owner).instances.launch({ tenantId: spread[i % 10]!, ...tiny, name: `s-${i}` })),
      );
      const spreadSeconds = (performance.now() - t1) / 1000;
      // Node's one thread does every launch's tRPC, query building and protocol work: a floor under the burst.
      const spreadCpu = process.cpuUsage(cpu1);
      const spreadAccepted = spreadResults.filter((r) => r.status === 'fulfilled').length;
      // A tenant's launches asked meanwhile are decided in one transaction (server/instances/launch-queue.ts); now() is its start.
      const { rows: txs } = await db.execute<{ n: number }>(sql`select count(distinct (tenant_id, created_at))::int as n from instances where tenant_id in ${spread}`);

      return [
        { label: 'list, first page (p50)', value: first.p50, unit: 'ms' },
        { label: 'list, first page (p95)', value: first.p95, unit: 'ms' },
        { label: 'list, page 100+ by cursor (p50)', value: deep.p50, unit: 'ms' },
        { label: 'list, page 100+ by cursor (p95)', value: deep.p95, unit: 'ms' },
        { label: 'list, name + tag filter (p50)', value: filtered.p50, unit: 'ms' },
        { label: 'list, name + tag filter (p95)', value: filtered.p95, unit: 'ms' },
        { label: 'launch decisions', value: 1000 / seconds, unit: 'per second' },
        { label: 'launches accepted (quota 200)', value: accepted },
        { label: 'refused with QUOTA_EXCEEDED', value: quotaRefusals },
        { label: 'refused otherwise', value: results.length - accepted - quotaRefusals },
        atMost('1,000 launches over 10 tenants, all decided', spreadSeconds, 2, 's'),
        { label: '  accepted (quota 200 each)', value: spreadAccepted },
        { label: '  transactions they were decided in', value: txs[0]!.n },
        { label: '  node CPU per launch (this process)', value: (spreadCpu.user + spreadCpu.system) / 1000 / 1000, unit: 'ms' },
        { label: 'driver', value: 'in-memory (decisions only; no guest boots)' },
      ];
    } finally {
      await close();
    }
  },
};

export default bench;
