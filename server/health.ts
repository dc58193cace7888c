import { sql } from 'drizzle-orm';
import { getDb } from './db/client';
import { serverRole } from './cluster/role';
import { hosts } from './db/schema';
import { HOST_STALE_AFTER_SECONDS } from './hosts';
import { getCompute } from './runtime/compute';

export type Health = {
  ok: boolean;
  database: { ok: boolean; latencyMs: number | null; error?: string };
  hypervisor: { ok: boolean; driver?: string; host?: string; acceleration?: string; error?: string };
};

/** A control plane runs no guests: its hypervisor is its cluster's nodes, healthy while one of them is live. */
async function clusterHealth(): Promise<Health['hypervisor']> {
  const [row] = await getDb()
    .select({ live: sql<number>`count(*) filter (where ${hosts.state} = 'enabled' and ${hosts.heartbeatAt} > now() - make_interval(secs => ${HOST_STALE_AFTER_SECONDS}))::int` })
    .from(hosts);
  const live = row?.live ?? 0;
  return live > 0 ? { ok: true, driver: 'cluster', host: `${live} live compute node${live === 1 ? '' : 's'}` } : { ok: false, driver: 'cluster', error: 'no compute node is live' };
}

async function hypervisorHealth(): Promise<Health['hypervisor']> {
  const compute = getCompute();
  if (!compute && serverRole() === 'control') return clusterHealth().catch((err: Error) => ({ ok: false, driver: 'cluster', error: err.message }));
  if (!compute) return { ok: false, error: 'no hypervisor on this server (see the server log)' };
  try {
    const info = await compute.driver.hostInfo();
    return { ok: true, driver: compute.driver.name, host: compute.hostName, acceleration: info.acceleration };
  } catch (err) {
    return { ok: false, driver: compute.driver.name, error: err instanceof Error ? err.message : 'not answering' };
  }
}

/** Database reachable and answering within 3 s; the hypervisor driver answering. Both must hold. */
export async function checkHealth(): Promise<Health> {
  const started = performance.now();
  try {
    await Promise.race([
      getDb().execute(sql`select 1`),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3 s')), 3000).unref()),
    ]);
    const database = { ok: true, latencyMs: Math.round(performance.now() - started) };
    const hypervisor = await hypervisorHealth();
    return { ok: database.ok && hypervisor.ok, database, hypervisor };
  } catch (err) {
    return {
      ok: false,
      database: { ok: false, latencyMs: null, error: err instanceof Error ? err.message : 'unreachable' },
      hypervisor: await hypervisorHealth(),
    };
  }
}
