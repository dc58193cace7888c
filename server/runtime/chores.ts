// What the cluster needs done once, whatever its hosts: run by every control
// plane (each step is idempotent, so two control planes doing it is harmless).
import { enforceBudgets } from '../billing/budget-guard';
import { checkpointOpenUsage } from '../billing/ledger';
import { startHostWatch, type HaConfig } from '../cluster/ha';
import type { Db } from '../db/client';

/** Every 30 s: open segments' complete days into the ledger's sums (after midnight), then hard-capped budgets (stop what runs once a tenant's month is spent). */
/** And every 2 s, the hosts' watch (server/cluster/ha.ts): declare silent nodes down, fence them, recover their auto-recover instances. */
export function startClusterChores(db: Db, ha: HaConfig, log: (m: string) => void): () => void {
  const stopWatch = startHostWatch(db, ha, log);
  const timer = setInterval(() => {
    void checkpointOpenUsage(db)
      .catch((err) => log(`[billing] checkpoint of open usage failed: ${err instanceof Error ? err.message : err}`))
      .then(() => enforceBudgets(db))
      .then((n) => n && log(`[billing] stopped ${n} instance(s) of tenants over a hard-capped budget`))
      .catch((err) => log(`[billing] budget check failed: ${err instanceof Error ? err.message : err}`));
  }, 30_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    stopWatch();
  };
}
