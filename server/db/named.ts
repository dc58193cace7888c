import type { SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Db, DbOrTx } from './client';
import * as schema from './schema';

// Hot statements — the ones every launch (or every tenant procedure) runs — are
// named, server-side prepared statements: PostgreSQL parses and plans each once
// per connection instead of at every call (measured in the instances bench: its
// CPU per launch 6.4 → 4.3 ms). The pool's clients put a hash of the text in
// the name (./named-client.ts), so a label may cover texts that vary; keep
// each label's variety small, as every text stays prepared on every connection
// that ran it (past 16 texts a label's statements run unnamed).

const dialect = new PgDialect();

/** `db.execute(query)` as a named statement. */
export async function executeNamed<T extends QueryResultRow = Record<string, unknown>>(db: DbOrTx, label: string, query: SQL): Promise<QueryResult<T>> {
  return (await db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, label, false).execute()) as QueryResult<T>;
}

/** What drizzle's prepared query (NodePgPreparedQuery) is made of: its text, parameters and how rows map to results. */
type Made = {
  queryString: string;
  params: unknown[];
  fields: unknown;
  _isResponseInArrayMode: boolean;
  customResultMapper?: unknown;
  joinsNotNullableMap?: unknown;
};

type Preparable = { prepare(name: string): { execute(values?: Record<string, unknown>): Promise<unknown> } };
type Result<Q extends Preparable> = ReturnType<ReturnType<Q['prepare']>['execute']>;

// Builds without a connection.
const builder = drizzle.mock({ schema }) as unknown as Db;

/**
 * A query builder's statement built once per process, and run as a named
 * statement on whatever handle it is given (the pool or a transaction), its
 * values bound to its `sql.placeholder(…)`s. Drizzle builds a query's text
 * anew at each call (~50–200 µs of node's one thread for the launch path's
 * selects); a launch runs several. The result is what `.execute()` of the same
 * builder returns, mapped the same way.
 */
export function prebuilt<Q extends Preparable>(label: string, build: (db: Db) => Q): (db: DbOrTx, values?: Record<string, unknown>) => Result<Q> {
  let made: Made | undefined;
  return (db, values = {}) => {
    made ??= build(builder).prepare(label) as unknown as Made;
    const q = db._.session.prepareQuery({ sql: made.queryString, params: made.params }, made.fields as never, label, made._isResponseInArrayMode, made.customResultMapper as never);
    (q as unknown as Made).joinsNotNullableMap = made.joinsNotNullableMap;
    return q.execute(values) as Result<Q>;
  };
}
