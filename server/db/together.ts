import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from './client';
import { executeNamed } from './named';

/**
 * Writes that need nothing of one another, in one statement (one round trip
 * instead of one each): every part but the last becomes a data-modifying WITH
 * clause (an INSERT, UPDATE or DELETE), the last is the statement itself (any
 * statement: a `select graphile_worker.add_job(…)` too). PostgreSQL runs each
 * part to completion with the statement's one snapshot, so no part sees
 * another's rows: use it for writes that read nothing the others write (rows
 * the transaction wrote before are seen, foreign keys included; triggers fire
 * at the statement's end as they would after each). Never two parts that
 * update (or delete) the same row: both start from the row as it was and
 * PostgreSQL applies only one of them, without an error. A named statement
 * (`label`, ./named.ts): its callers run it on every launch; null for one
 * whose text varies from call to call (a batch's, with a part per row).
 */
export async function writeTogether(db: DbOrTx, label: string | null, parts: (SQL | null)[]): Promise<void> {
  const all = parts.filter((p): p is SQL => p !== null);
  const last = all.pop();
  if (!last) return;
  const clauses = sql.join(
    all.map((p, i) => sql`${sql.raw(`w${i}`)} as (${p})`),
    sql`, `,
  );
  const statement = all.length ? sql`with ${clauses} ${last}` : last;
  if (label === null) await db.execute(statement);
  else await executeNamed(db, label, statement);
}
