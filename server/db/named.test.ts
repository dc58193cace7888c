// Hot statements built once and run by name (./named.ts, the pool's clients in
// ./client.ts), and writes run together (./together.ts): they answer exactly
// what drizzle's own builders answer, on the pool and in transactions.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { makeTenant, makeUser } from '../test/factories';
import { setUpCompute, tiny } from '../test/compute';
import { newInstanceId } from '../instances/ids';
import { instanceColumns } from '../instances/queries';
import { executeNamed, prebuilt } from './named';
import { auditLog, hosts, instances, memberships, tenants } from './schema';
import { writeTogether } from './together';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('prebuilt, named statements', () => {
  it('map rows as the same builder does: columns, joined tables (null when a left join finds none), json, dates', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner, 'Named');
    const { hostId } = await setUpCompute(t.db);
    const id = newInstanceId();
    await t.db.insert(instances).values({ ...tiny, id, tenantId: tenant.id, hostId, state: 'running', tags: { tier: 'web' } });
    const build = (db: typeof t.db, of: string | ReturnType<typeof sql.placeholder>) =>
      db
        .select({ instance: instanceColumns, host: hosts, tenantName: tenants.name })
        .from(instances)
        .leftJoin(hosts, eq(hosts.id, instances.hostId))
        .innerJoin(tenants, eq(tenants.id, instances.tenantId))
        .where(eq(instances.tenantId, of));
    const query = prebuilt('test-instances-of', (db) => build(db, sql.placeholder('tenantId')));
    const expected = await build(t.db, tenant.id);
    expect(expected[0]!.instance.createdAt).toBeInstanceOf(Date);
    expect(await query(t.db, { tenantId: tenant.id })).toEqual(expected);
    // In a transaction, on its connection: it sees the transaction's own uncommitted row, which the pool's others do not.
    const uncommitted = newInstanceId();
    const rolledBack = new Error('roll back');
    const inTx = await t.db
      .transaction(async (tx) => {
        await tx.insert(instances).values({ ...tiny, id: uncommitted, tenantId: tenant.id, hostId, state: 'stopped', name: 'uncommitted' });
        expect((await query(tx, { tenantId: tenant.id })).map((r) => r.instance.id).sort()).toEqual([id, uncommitted].sort());
        expect((await query(t.db, { tenantId: tenant.id })).map((r) => r.instance.id)).toEqual([id]);
        const { rows } = await executeNamed<{ n: number }>(tx, 'test-count-in-tx', sql`select count(*)::int as n from ${instances} where ${instances.tenantId} = ${tenant.id}`);
        expect(rows[0]!.n).toBe(2);
        throw rolledBack;
      })
      .catch((e: unknown) => e);
    expect(inTx).toBe(rolledBack);
    // Again on connections that have it prepared by now.
    const many = await Promise.all(Array.from({ length: 30 }, () => query(t.db, { tenantId: tenant.id })));
    for (const rows of many) expect(rows).toEqual(expected);

    // A left join that finds nothing gives null, as the builder's own does.
    await t.db.update(instances).set({ hostId: null }).where(eq(instances.id, id));
    const [row] = await query(t.db, { tenantId: tenant.id });
    expect(row!.host).toBeNull();
    expect(await query(t.db, { tenantId: tenant.id })).toEqual(await build(t.db, tenant.id));
  });

  it('bind json through a placeholder with its column, and a label whose texts differ gets a statement for each', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner, 'Labels');
    const insert = prebuilt('test-audit', (db) =>
      db
        .insert(auditLog)
        .values({ action: 'test.named', tenantId: sql.placeholder('tenantId'), actorLabel: 'test', outcome: 'success', requestId: 'named', detail: sql.placeholder('detail') })
        .returning({ id: auditLog.id, detail: auditLog.detail }),
    );
    const [made] = await insert(t.db, { tenantId: tenant.id, detail: { nested: { a: [1, 2] }, quote: "it's" } });
    expect(made!.detail).toEqual({ nested: { a: [1, 2] }, quote: "it's" });
    // One label, two texts, on every connection of the pool.
    const byRole = (role: 'owner' | 'viewer') =>
      executeNamed<{ n: number }>(t.db, 'test-one-label', sql`select count(*)::int as n from ${memberships} where ${and(eq(memberships.tenantId, tenant.id), sql.raw(`role = '${role}'`))}`);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => byRole(i % 2 ? 'viewer' : 'owner')));
    expect(answers.map((a) => a.rows[0]!.n)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 ? 0 : 1)));
  });
});

describe('prebuilt, on drizzle internals', () => {
  it('refuses, saying drizzle changed, a prepared query or a prepareQuery not made as it reads them', async () => {
    // .prepare() gives something else than drizzle-orm 0.45's NodePgPreparedQuery…
    const foreign = prebuilt('test-foreign', () => ({ prepare: () => ({ execute: async () => [] }) }));
    expect(() => foreign(t.db)).toThrow("drizzle internals changed: prebuilt('test-foreign') did not get a NodePgPreparedQuery from .prepare()");
    // …one whose fields moved…
    const moved = prebuilt('test-moved', (db) => {
      const select = db.select({ id: tenants.id }).from(tenants);
      return {
        prepare: (label: string) => {
          const q = select.prepare(label);
          delete (q as unknown as { queryString?: string }).queryString;
          return q;
        },
      };
    });
    expect(() => moved(t.db)).toThrow("drizzle internals changed: prebuilt('test-moved') found no queryString of the expected type on its prepared query");
    // …or a session whose prepareQuery takes its arguments in another order.
    const query = prebuilt('test-order', (db) => db.select({ id: tenants.id }).from(tenants).limit(1));
    const session = t.db._.session;
    const reordered = { _: { session: { prepareQuery: (q: never, fields: never, name: string, array: boolean, mapper: never) => session.prepareQuery(q, fields, undefined, array, mapper) } } };
    expect(() => query(reordered as unknown as typeof t.db)).toThrow("drizzle internals changed: prebuilt('test-order') found session.prepareQuery taking its arguments in another order");
    expect(await query(t.db)).toHaveLength(1);
  });
});

describe('writeTogether', () => {
  it('runs every write in one statement, seeing the rows the transaction wrote before, or none of them', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner, 'Together');
    const id = newInstanceId();
    const audit = (action: string) => t.db.insert(auditLog).values({ action, tenantId: tenant.id, actorLabel: 'test', outcome: 'success', requestId: 'together', targetType: 'instance', targetId: id }).getSQL();
    await t.db.transaction(async (tx) => {
      await tx.insert(instances).values({ ...tiny, id, tenantId: tenant.id, state: 'stopped' });
      await writeTogether(tx, 'test-together', [audit('test.one'), null, audit('test.two'), sql`update ${instances} set name = 'renamed' where id = ${id}`]);
    });
    const actions = (await t.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.targetId, id))).map((a) => a.action).sort();
    expect(actions).toEqual(['test.one', 'test.two']);
    expect((await t.db.select({ name: instances.name }).from(instances).where(eq(instances.id, id)))[0]!.name).toBe('renamed');

    // A failing part fails them all.
    const failed = await writeTogether(t.db, 'test-together-fails', [audit('test.three'), sql`insert into ${instances} (id) values (${id})`]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(await t.db.select().from(auditLog).where(and(eq(auditLog.targetId, id), eq(auditLog.action, 'test.three')))).toEqual([]);
  });
});
