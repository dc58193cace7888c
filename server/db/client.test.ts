// The pool's connections (./client.ts): what createDb sets on each one.
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpCompute, tiny } from '../test/compute';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createDb, namedStatementsWanted } from './client';
import { executeNamed } from './named';

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

  it('with CIRRUS_DB_NAMED_STATEMENTS=off, sends every statement unnamed: a whole launch, prebuilt and raw named statements', async () => {
    expect([undefined, '', 'on', 'off'].map((v) => namedStatementsWanted(v))).toEqual([true, true, true, false]);
    expect(() => namedStatementsWanted('false')).toThrow('CIRRUS_DB_NAMED_STATEMENTS must be on or off, not "false"');
    await setUpCompute(t.db);
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner, 'Unnamed');
    for (const namedStatements of [false, true]) {
      // One connection, so pg_prepared_statements (a session's own) covers all of it; every Parse seen on the wire.
      const { db, pool } = createDb(t.url, 1, { namedStatements });
      const parsed: string[] = [];
      pool.on('connect', (client) => {
        const wire = (client as unknown as { connection: { parse(m: { name?: string }): void } }).connection;
        const parse = wire.parse.bind(wire);
        wire.parse = (m) => {
          parsed.push(m.name ?? '');
          parse(m);
        };
      });
      try {
        await callerAs(db, owner).instances.launch({ tenantId: tenant.id, ...tiny, name: `launch-${namedStatements ? 'named' : 'unnamed'}` });
        await executeNamed(db, 'test-raw', sql`select ${1}::int as one`);
        const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from pg_prepared_statements`);
        if (namedStatements) {
          expect(parsed.filter(Boolean).length).toBeGreaterThan(5);
          expect(rows[0]!.n).toBe(parsed.filter(Boolean).length);
        } else {
          expect(parsed.length).toBeGreaterThan(5);
          expect(parsed.filter(Boolean)).toEqual([]);
          expect(rows[0]!.n).toBe(0);
        }
      } finally {
        await pool.end();
      }
    }
  });
});
