import { sql } from 'drizzle-orm';
import { getDb } from './db/client';

export type Health = {
  ok: boolean;
  database: { ok: boolean; latencyMs: number | null; error?: string };
};

/** Database reachable and answering within 3 s. (The hypervisor joins this when it exists.) */
export async function checkHealth(): Promise<Health> {
  const started = performance.now();
  try {
    await Promise.race([
      getDb().execute(sql`select 1`),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3 s')), 3000).unref()),
    ]);
    const database = { ok: true, latencyMs: Math.round(performance.now() - started) };
    return { ok: database.ok, database };
  } catch (err) {
    return { ok: false, database: { ok: false, latencyMs: null, error: err instanceof Error ? err.message : 'unreachable' } };
  }
}
