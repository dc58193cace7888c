// The pool's clients name statements (./named-client.ts): names PostgreSQL keeps apart, a bounded number of
// texts per label, and a connection whose prepared statement went stale recovers. Each case runs on a pool of
// one connection, so pg_prepared_statements (a session's own) shows all it prepared.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { pgError } from './pg-errors';
import { createDb, type Db } from './client';
import { MAX_NAME_BYTES, MAX_TEXTS_PER_LABEL, wireName } from './named-client';
import { executeNamed } from './named';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

async function oneConnection(run: (db: Db) => Promise<void>) {
  const { db, pool } = createDb(t.url, 1, { namedStatements: true });
  try {
    await run(db);
  } finally {
    await pool.end();
  }
}

const preparedLike = async (db: Db, pattern: string) =>
  (await db.execute<{ name: string }>(sql`select name from pg_prepared_statements where name like ${pattern} order by name`)).rows.map((r) => r.name);

describe('statement names', () => {
  it('put the hash of the text first and fit in 63 bytes, so two texts of one long label are two statements', async () => {
    const label = `test-long-${'x'.repeat(80)}`;
    const name = wireName(label, 'select 1 as long_one');
    expect(name).toMatch(/^[\w-]{12}:test-long-x+$/);
    expect(Buffer.byteLength(name!)).toBe(MAX_NAME_BYTES);
    await oneConnection(async (db) => {
      const one = await executeNamed<{ v: number }>(db, label, sql`select 1 as v`);
      const two = await executeNamed<{ v: number }>(db, label, sql`select 2 as v`);
      expect([one.rows[0]!.v, two.rows[0]!.v]).toEqual([1, 2]);
      const names = await preparedLike(db, '%test-long-%');
      expect(names).toHaveLength(2);
      for (const n of names) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    });
  });

  it(`name at most ${MAX_TEXTS_PER_LABEL} texts of one label; the others run unnamed`, async () => {
    await oneConnection(async (db) => {
      const answers = [];
      for (let i = 0; i < MAX_TEXTS_PER_LABEL + 5; i++) answers.push((await executeNamed<{ n: number }>(db, 'test-varied', sql`select ${sql.raw(String(i))}::int as n`)).rows[0]!.n);
      expect(answers).toEqual(Array.from({ length: MAX_TEXTS_PER_LABEL + 5 }, (_, i) => i));
      expect(await preparedLike(db, '%test-varied%')).toHaveLength(MAX_TEXTS_PER_LABEL);
    });
  });
});

describe('a stale prepared statement', () => {
  it('whose result type changed (0A000) is prepared again and run once more outside a transaction; inside one the error is the caller’s and its next try works', async () => {
    await t.db.execute(sql`create table test_stale (a int)`);
    await t.db.execute(sql`insert into test_stale values (1)`);
    const read = (db: Db) => executeNamed(db, 'test-stale', sql`select * from test_stale`);
    await oneConnection(async (db) => {
      expect((await read(db)).rows).toEqual([{ a: 1 }]);
      await t.db.execute(sql`alter table test_stale add column b int default 2`); // another connection: a migration
      expect((await read(db)).rows).toEqual([{ a: 1, b: 2 }]);

      await t.db.execute(sql`alter table test_stale add column c int default 3`);
      const inTx = await db.transaction((tx) => executeNamed(tx, 'test-stale', sql`select * from test_stale`)).catch((e: unknown) => e);
      expect(pgError(inTx)?.code).toBe('0A000');
      expect((await read(db)).rows).toEqual([{ a: 1, b: 2, c: 3 }]);
      expect(await preparedLike(db, '%:test-stale')).toHaveLength(3); // the stale ones stay until the connection closes
    });
  });

  it('that the session no longer has (26000) is prepared again', async () => {
    await oneConnection(async (db) => {
      const read = () => executeNamed<{ v: number }>(db, 'test-gone', sql`select 7 as v`);
      expect((await read()).rows).toEqual([{ v: 7 }]);
      await db.execute(sql`deallocate all`); // behind node-postgres's back, as a pooler's reset would
      expect((await read()).rows).toEqual([{ v: 7 }]);
      expect(await preparedLike(db, '%:test-gone')).toHaveLength(1);
    });
  });
});
