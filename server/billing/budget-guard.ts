import { and, eq, inArray, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db, DbOrTx } from '../db/client';
import { prebuilt } from '../db/named';
import { instances, tenantBudgets } from '../db/schema';
import { DomainError } from '../errors';
import { requestInstanceAction } from '../instances/actions';
import { chargeLines } from './charges';
import { clock } from './summary';

const fmt = (micro: number, currency: string) => `${(micro / 1_000_000).toFixed(2)} ${currency}`;

// Every launch and start reads it: built once, a named statement.
const budgetOf = prebuilt('tenant-budget', (db) => db.select().from(tenantBudgets).where(eq(tenantBudgets.tenantId, sql.placeholder('tenantId'))));

/** Month-to-date spend against a hard-capped budget, or null when the tenant has no hard cap. */
async function capStanding(db: DbOrTx, tenantId: string) {
  const [b] = await budgetOf(db, { tenantId });
  if (!b?.hardCap) return null;
  const { monthStart, monthEnd } = await clock(db);
  const spent = (await chargeLines(db, tenantId, monthStart, monthEnd)).reduce((a, l) => a + l.amountMicro, 0);
  return { spent, budget: b.monthlyMicro };
}

/** Refuse launches and starts once a hard-capped budget is used up. */
export async function assertWithinBudget(db: DbOrTx, tenantId: string, currency = 'USD'): Promise<void> {
  const s = await capStanding(db, tenantId);
  if (s && s.spent >= s.budget) {
    throw new DomainError(
      'BUDGET_EXCEEDED',
      `This tenant has spent ${fmt(s.spent, currency)} of its ${fmt(s.budget, currency)} monthly budget, which is a hard cap. ` +
        'An owner can raise the budget; otherwise launches resume next month.',
    );
  }
}

/** Stop the running instances of every tenant whose hard-capped budget is used up (events say why). */
export async function enforceBudgets(db: Db): Promise<number> {
  const capped = await db.select({ tenantId: tenantBudgets.tenantId }).from(tenantBudgets).where(eq(tenantBudgets.hardCap, true));
  let stopped = 0;
  for (const { tenantId } of capped) {
    const s = await capStanding(db, tenantId);
    if (!s || s.spent < s.budget) continue;
    const running = await db
      .select({ id: instances.id })
      .from(instances)
      .where(and(eq(instances.tenantId, tenantId), inArray(instances.state, ['running', 'starting'])));
    for (const r of running) {
      await requestInstanceAction(db, systemActor('budget'), tenantId, r.id, 'stop', {
        message: 'Stopped: the tenant reached its monthly budget, which is a hard cap.',
        onlyIfAllowed: true,
      }).then(
        () => stopped++,
        () => undefined,
      );
    }
  }
  return stopped;
}
