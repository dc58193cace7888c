// A change that can end console access (a tenant suspended, a user disabled,
// a member removed) notifies every server's console proxy in its own
// transaction (PostgreSQL NOTIFY is delivered on commit, to every listener of
// the database): open sessions are rechecked at once, not at the next
// one-second check — so the user reads why before anything else can close
// the console (the browser's page, seeing the instance stop, would).
import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { DbOrTx } from '../db/client';

export const CONSOLE_ACCESS_CHANNEL = 'cirrus_console_access';
/** The payload for a change that may touch any tenant's sessions (a user disabled). */
export const ALL_TENANTS = '*';

export async function notifyConsoleAccess(tx: DbOrTx, tenantId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CONSOLE_ACCESS_CHANNEL}, ${tenantId})`);
}

/** Listen on its own connection; `onChange` gets the tenant id (or ALL_TENANTS). Returns how to stop. Reconnects after a lost connection. */
export async function listenConsoleAccess(databaseUrl: string, onChange: (tenantId: string) => void, log: (m: string) => void = () => undefined) {
  let client: pg.Client | null = null;
  let stopped = false;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: databaseUrl });
    c.on('notification', (n) => {
      if (n.channel === CONSOLE_ACCESS_CHANNEL && n.payload) onChange(n.payload);
    });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (stopped) return;
      // The periodic check still closes what must close meanwhile.
      setTimeout(() => void connect().catch((e: Error) => log(`[console] listening again failed: ${e.message}`)), 2_000).unref();
    });
    await c.connect();
    await c.query(`listen ${CONSOLE_ACCESS_CHANNEL}`);
    client = c;
  };
  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => undefined);
  };
}
