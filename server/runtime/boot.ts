// Boot: 1. data directory and its lock · 2. database (embedded or DATABASE_URL)
// · 3. migrations · 4. secrets for next-auth · 5. first-start seed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { dataDir as defaultDataDir } from '../config/paths';
import { closeDb, getDb, type Db } from '../db/client';
import { startEmbeddedPostgres } from '../db/embedded';
import { runMigrations } from '../db/migrate';
import { seedIfEmpty, type SeededCredentials } from '../seed';
import { seedPrices } from '../billing/prices';
import { lockDataDir } from './data-lock';
import { scrapeToken } from '../metrics/handler';
import { readOrCreateSecret } from './secrets';

export type Runtime = {
  dataDir: string;
  db: Db;
  embedded: boolean;
  /** Set on the first start only: the generated admin and demo credentials. */
  seeded: SeededCredentials | null;
  shutdown: () => Promise<void>;
};

/**
 * `web: false` (a compute node): no embedded database — a node joins a
 * cluster's PostgreSQL (DATABASE_URL) — and no sign-in secrets or first-start
 * seed, which are the control plane's.
 */
export async function boot(opts: { port: number; web?: boolean; log?: (m: string) => void }): Promise<Runtime> {
  const web = opts.web ?? true;
  const log = opts.log ?? ((m: string) => console.log(m));
  const cleanups: (() => Promise<void> | void)[] = [];
  const shutdown = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('[cirrus] shutdown step failed:', err);
      }
    }
    cleanups.length = 0;
  };

  try {
    // 1. The data directory stays traversable (0711): embedded PostgreSQL runs as
    //    another user beneath it. What is private inside it is 0700/0600.
    const dataDir = defaultDataDir();
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
    cleanups.push(lockDataDir(dataDir));

    // 2. Database.
    let embedded = false;
    if (!process.env.DATABASE_URL && !web) {
      throw new Error('a compute node joins its cluster’s database: set DATABASE_URL to the PostgreSQL the control plane uses');
    }
    if (!process.env.DATABASE_URL) {
      const pg = await startEmbeddedPostgres(dataDir, { log });
      cleanups.push(() => pg.stop());
      process.env.DATABASE_URL = pg.url;
      embedded = true;
    }
    const url = process.env.DATABASE_URL as string;

    // 3. Migrations, before anything queries.
    await runMigrations(url);
    const db = getDb();
    cleanups.push(() => closeDb());

    if (!web) return { dataDir, db, embedded, seeded: null, shutdown };

    // 4. next-auth reads these from the environment when Next loads its routes.
    process.env.NEXTAUTH_SECRET ??= readOrCreateSecret(dataDir, 'nextauth-secret', () =>
      crypto.randomBytes(32).toString('base64url'),
    );
    // The token Prometheus scrapes /metrics with (server/metrics), there before the first scrape.
    scrapeToken(dataDir);
    process.env.NEXTAUTH_URL ??= process.env.CIRRUS_PUBLIC_URL ?? `http://localhost:${opts.port}`;

    // 5. Seed.
    const seeded = await seedIfEmpty(db, dataDir);
    await seedPrices(db);
    return { dataDir, db, embedded, seeded, shutdown };
  } catch (err) {
    await shutdown();
    throw err;
  }
}
