// The pool's connections (./client.ts): what createDb sets on each one.
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createDb } from './client';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('createDb', () => {
  it('runs every transaction at READ COMMITTED, whatever default the database was given', async () => {
    const { rows } = await t.db.execute<{ name: string }>(sql`select current_database() as name`);
    await t.db.execute(sql.raw(`alter database ${rows[0]!.name} set default_transaction_isolation = 'repeatable read'`));
    try {
      // A plain connection gets the database's default…
      const plain = new pg.Client({ connectionString: t.url });
      await plain.connect();
      expect((await plain.query('show transaction_isolation')).rows[0].transaction_isolation).toBe('repeatable read');
      await plain.end();
      // …the pool's connections READ COMMITTED, the level placement's guarantee needs.
      const { db, pool } = createDb(t.url, 3);
      try {
        const levels = await Promise.all(
          Array.from({ length: 6 }, () => db.transaction(async (tx) => (await tx.execute<{ l: string }>(sql`select current_setting('transaction_isolation') as l`)).rows[0]!.l)),
        );
        expect(levels).toEqual(Array.from({ length: 6 }, () => 'read committed'));
      } finally {
        await pool.end();
      }
    } finally {
      await t.db.execute(sql.raw(`alter database ${rows[0]!.name} reset default_transaction_isolation`));
    }
  });
});
