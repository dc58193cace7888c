import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { users } from '../db/schema';
import { teardownHostNetwork } from '../test/server-process';
import { boot } from './boot';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-boot-'));
  vi.stubEnv('CIRRUS_DATA_DIR', dir);
  vi.stubEnv('DATABASE_URL', '');
  vi.stubEnv('CIRRUS_ADMIN_EMAIL', 'root@example.test');
  vi.stubEnv('CIRRUS_ADMIN_PASSWORD', 'a very long admin password');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await teardownHostNetwork(dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

const quiet = { port: 3999, log: () => undefined };

describe('runtime boot on an embedded database', () => {
  it('seeds once, keeps every row across a restart, and keeps secrets private', { timeout: 120_000 }, async () => {
    const first = await boot(quiet);
    expect(first.embedded).toBe(true);
    expect(first.seeded?.admin).toEqual({ email: 'root@example.test', password: 'a very long admin password' });
    const creds = path.join(dir, 'credentials.txt');
    expect(fs.statSync(creds).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(creds, 'utf8')).toContain(first.seeded!.demo.password);
    expect(fs.statSync(path.join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    await first.db.execute(sql`create table keepsake (note text)`);
    await first.db.execute(sql`insert into keepsake values ('still here')`);
    const userCount = (await first.db.select().from(users)).length;
    expect(userCount).toBe(2);
    await first.shutdown();
    vi.stubEnv('DATABASE_URL', '');

    const second = await boot(quiet);
    try {
      expect(second.seeded).toBeNull();
      expect((await second.db.select().from(users)).length).toBe(userCount);
      const { rows } = await second.db.execute(sql`select note from keepsake`);
      expect(rows).toEqual([{ note: 'still here' }]);
    } finally {
      await second.shutdown();
      vi.stubEnv('DATABASE_URL', '');
    }
  });

  it('starts cleanly after the previous server was killed with SIGKILL', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../test/boot-child.ts')], {
      env: { ...process.env, CIRRUS_DATA_DIR: dir, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // Its PostgreSQL is still running, orphaned, and its pid file is stale.
    const restarted = await boot(quiet);
    try {
      const { rows } = await restarted.db.execute(sql`select note from crash_marker`);
      expect(rows).toEqual([{ note: 'written before the crash' }]);
    } finally {
      await restarted.shutdown();
      vi.stubEnv('DATABASE_URL', '');
    }
  });
});
