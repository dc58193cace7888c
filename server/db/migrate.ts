import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { Logger, runMigrations as runJobQueueMigrations } from 'graphile-worker';
import pg from 'pg';

// Any fixed number; several Cirrus servers sharing one database take turns.
const quietLogger = new Logger(() => () => undefined);

const MIGRATION_LOCK = 0x6369_7272; // "cirr"

export const migrationsFolder = path.join(process.cwd(), 'drizzle');

/** Apply the committed SQL migrations in drizzle/ and the job queue's schema, one server at a time. */
export async function runMigrations(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(drizzle(client), { migrationsFolder });
    await runJobQueueMigrations({ connectionString, logger: quietLogger });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}
