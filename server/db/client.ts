import type { DrizzleConfig } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { NamingClient, type NamingClientConfig } from './named-client';
import * as schema from './schema';

export type Db = NodePgDatabase<typeof schema>;
/** A transaction handle; domain functions accept `Db | Tx` where they can run inside either. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

/**
 * CIRRUS_DB_NAMED_STATEMENTS: `on` (the default) names hot statements; `off` sends every statement unnamed,
 * for a DATABASE_URL behind a pooler that hands each transaction another server connection and does not carry
 * prepared statements across (PgBouncer in transaction mode before 1.21 or with max_prepared_statements = 0,
 * Supavisor): there a name prepared on one connection is unknown on the next.
 */
export function namedStatementsWanted(raw = process.env.CIRRUS_DB_NAMED_STATEMENTS): boolean {
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`CIRRUS_DB_NAMED_STATEMENTS must be on or off, not ${JSON.stringify(raw)}`);
}

/** How drizzle is set up: createDb's handles, and the builder prebuilt statements are made with (./named.ts). */
export const drizzleConfig: DrizzleConfig<typeof schema> = { schema };

export function createDb(connectionString: string, max = 10, opts: { namedStatements?: boolean } = {}): { db: Db; pool: pg.Pool } {
  const namedStatements = opts.namedStatements ?? namedStatementsWanted();
  // The pool passes its config to each client it makes: names on the wire, or none (./named-client.ts).
  const config: pg.PoolConfig & NamingClientConfig = { connectionString, max, Client: NamingClient, namedStatements };
  const pool = new pg.Pool(config);
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err: Error & { code?: string }) => {
    // 57P01: the server is shutting down (ours, on SIGINT/SIGTERM) — expected, not news.
    if (err.code !== '57P01') console.error('[db] idle client error:', err.message);
  });
  return { db: drizzle(pool, drizzleConfig), pool };
}

// The custom server and the Next.js route handlers run in one process but load
// separate copies of this module (Next bundles its own), so the pool lives on
// globalThis under a well-known symbol and is created once per process.
const KEY = Symbol.for('cirrus.db');
type Holder = { db: Db; pool: pg.Pool; url: string };
const g = globalThis as unknown as Record<symbol, Holder | undefined>;

/** The process-wide database handle, connected to `DATABASE_URL` (set by the server's boot step). */
export function getDb(): Db {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: start Cirrus through server.ts (npm start / npm run dev).');
  const held = g[KEY];
  if (held && held.url === url) return held.db;
  const created = createDb(url);
  g[KEY] = { ...created, url };
  return created.db;
}

export async function closeDb(): Promise<void> {
  const held = g[KEY];
  g[KEY] = undefined;
  if (held) await held.pool.end();
}
