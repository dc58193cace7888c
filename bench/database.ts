// The database a benchmark runs on: BENCH_DATABASE_URL's (left as the run
// leaves it, for a look afterwards), or an embedded PostgreSQL of its own,
// removed when it closes. Migrated either way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../server/db/client';
import { startEmbeddedPostgres } from '../server/db/embedded';
import { runMigrations } from '../server/db/migrate';

export async function benchDatabase(name: string, poolSize: number): Promise<{ db: Db; close: () => Promise<void> }> {
  let url = process.env.BENCH_DATABASE_URL;
  let stop = async () => undefined as void;
  let dir: string | null = null;
  if (!url) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `cirrus-bench-${name}-`));
    fs.chmodSync(dir, 0o711);
    const pg = await startEmbeddedPostgres(dir, { log: () => undefined, quiet: true });
    url = pg.url;
    stop = pg.stop;
  }
  const { db, pool } = createDb(url, poolSize);
  const close = async () => {
    await pool.end();
    await stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await runMigrations(url);
  } catch (e) {
    await close();
    throw e;
  }
  return { db, close };
}
