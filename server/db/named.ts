import { is, type SQL } from 'drizzle-orm';
import { drizzle, NodePgPreparedQuery } from 'drizzle-orm/node-postgres';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { QueryResult, QueryResultRow } from 'pg';
import { drizzleConfig, type Db, type DbOrTx } from './client';

// Hot statements — the ones every launch (or every tenant procedure) runs — are
// named, server-side prepared statements: PostgreSQL parses and plans each once
// per connection instead of at every call (measured in the instances bench: its
// CPU per launch 6.4 → 4.3 ms). The pool's clients put a hash of the text in
// the name (./named-client.ts), so a label may cover texts that vary; keep
// each label's variety small, as every text stays prepared on every connection
// that ran it (past 16 texts a label's statements run unnamed).

// The db's own settings (createDb's), so what is built here is what the db itself would build.
const dialect = new PgDialect({ casing: drizzleConfig.casing });

/** `db.execute(query)` as a named statement. */
export async function executeNamed<T extends QueryResultRow = Record<string, unknown>>(db: DbOrTx, label: string, query: SQL): Promise<QueryResult<T>> {
  return (await db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, label, false).execute()) as QueryResult<T>;
}

/**
 * What drizzle's prepared query (NodePgPreparedQuery, drizzle-orm 0.45) is made of: its text, parameters and
 * how rows map to results. Not drizzle's public API: checked when each statement is first built (madeOf) and
 * run (checkRemade), so a drizzle that changed them fails there, saying so, instead of mapping rows wrongly.
 */
type Made = {
  queryString: string;
  params: unknown[];
  fields: unknown[] | undefined;
  _isResponseInArrayMode: boolean;
  customResultMapper?: (rows: unknown[][]) => unknown;
  joinsNotNullableMap?: Record<string, boolean>;
};

type Preparable = { prepare(name: string): { execute(values?: Record<string, unknown>): Promise<unknown> } };
type Result<Q extends Preparable> = ReturnType<ReturnType<Q['prepare']>['execute']>;

const changed = (label: string, what: string) => new Error(`drizzle internals changed: prebuilt('${label}') ${what}; server/db/named.ts reads NodePgPreparedQuery's fields and calls session.prepareQuery as drizzle-orm 0.45 has them`);

/** The builder's prepared query, after checking it is made of what Made says. */
function madeOf(label: string, prepared: unknown): Made {
  if (!is(prepared, NodePgPreparedQuery)) throw changed(label, 'did not get a NodePgPreparedQuery from .prepare()');
  const m = prepared as unknown as Record<keyof Made, unknown>;
  const wrong = [
    typeof m.queryString !== 'string' && 'queryString',
    !Array.isArray(m.params) && 'params',
    !(m.fields === undefined || Array.isArray(m.fields)) && 'fields',
    typeof m._isResponseInArrayMode !== 'boolean' && '_isResponseInArrayMode',
    !(m.customResultMapper === undefined || typeof m.customResultMapper === 'function') && 'customResultMapper',
    !(m.joinsNotNullableMap === undefined || typeof m.joinsNotNullableMap === 'object') && 'joinsNotNullableMap',
  ].filter((w): w is string => typeof w === 'string');
  if (wrong.length) throw changed(label, `found no ${wrong.join(', ')} of the expected type on its prepared query`);
  return prepared as unknown as Made;
}

/** The query session.prepareQuery made from `made` holds what it was given, each where Made says. */
function checkRemade(label: string, made: Made, q: unknown) {
  const r = q as Partial<Made> & { rawQueryConfig?: { name?: unknown } };
  const same =
    is(q, NodePgPreparedQuery) &&
    r.queryString === made.queryString &&
    r.params === made.params &&
    r.fields === made.fields &&
    r._isResponseInArrayMode === made._isResponseInArrayMode &&
    r.customResultMapper === made.customResultMapper &&
    r.rawQueryConfig?.name === label;
  if (!same) throw changed(label, 'found session.prepareQuery taking its arguments in another order');
}

// Builds without a connection, with createDb's settings.
const builder = drizzle.mock(drizzleConfig) as unknown as Db;

/**
 * A query builder's statement built once per process, and run as a named
 * statement on whatever handle it is given (the pool or a transaction), its
 * values bound to its `sql.placeholder(…)`s. Drizzle builds a query's text
 * anew at each call (~50–200 µs of node's one thread for the launch path's
 * selects); a launch runs several. The result is what `.execute()` of the same
 * builder returns, mapped the same way. (Built per call with drizzle's public
 * API instead — `build(db).prepare(label).execute(values)` — a launch cost
 * 3.7 ms of node CPU instead of 2.1 in the instances bench.)
 */
export function prebuilt<Q extends Preparable>(label: string, build: (db: Db) => Q): (db: DbOrTx, values?: Record<string, unknown>) => Result<Q> {
  let made: Made | undefined;
  let checked = false;
  return (db, values = {}) => {
    made ??= madeOf(label, build(builder).prepare(label));
    const q = db._.session.prepareQuery({ sql: made.queryString, params: made.params }, made.fields as never, label, made._isResponseInArrayMode, made.customResultMapper as never);
    if (!checked) {
      checkRemade(label, made, q);
      checked = true;
    }
    (q as unknown as Made).joinsNotNullableMap = made.joinsNotNullableMap;
    return q.execute(values) as Result<Q>;
  };
}
