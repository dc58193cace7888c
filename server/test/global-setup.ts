import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's embedded PostgreSQL; each test file makes its own database on it. */
    pgAdminUrl: string;
  }
}

let pg: EmbeddedDatabase | undefined;
let dir: string | undefined;

/** One real PostgreSQL for the whole run, in a throw-away directory. */
export async function setup(project: TestProject) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-vitest-'));
  fs.chmodSync(dir, 0o711); // embedded PostgreSQL runs as another user when we are root
  pg = await startEmbeddedPostgres(dir, { log: () => undefined, quiet: true });
  const url = new URL(pg.url);
  url.pathname = '/postgres';
  project.provide('pgAdminUrl', url.toString());
}

export async function teardown() {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
