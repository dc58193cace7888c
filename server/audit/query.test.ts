import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../db/schema';
import { DomainError } from '../errors';
import type { TenantSummary } from '../tenants/tenants';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { auditFiltersInput, auditForCsv, auditListInput, listAudit, type AuditFilters } from './query';

let t: TestDatabase;
let a: TenantSummary;
let b: TenantSummary;

type Seed = { id: string; at: Date; actorLabel: string; tenantId: string | null; action: string; outcome: 'success' | 'failure' };
const seeded: Seed[] = [];
const base = Date.UTC(2020, 0, 1);
const ACTIONS = ['instance.start', 'instance.stop', 'settings.set', 'instancex.odd'];

beforeAll(async () => {
  t = await createTestDatabase();
  const owner = await makeUser(t.db);
  a = await makeTenant(t.db, owner, 'Alpha');
  b = await makeTenant(t.db, owner, 'Beta');
  // Only the rows this file writes, so expectations can be computed from them.
  await t.db.delete(auditLog);
  const values = Array.from({ length: 105 }, (_, i) => ({
    // Groups of three share a timestamp: the order must break ties by id.
    at: new Date(base + Math.floor(i / 3) * 60_000),
    actorLabel: i % 7 === 0 ? 'system' : i % 2 ? 'Ada@Example.com' : 'bob@example.com',
    tenantId: [a.id, b.id, null][i % 3]!,
    action: ACTIONS[i % 4]!,
    outcome: (i % 5 === 0 ? 'failure' : 'success') as Seed['outcome'],
    requestId: `req-${i}`,
    detail: { i },
  }));
  // Shuffle the insert order so ids and times do not agree.
  const scrambled = (i: number) => (i * 37) % 105; // a permutation: 37 and 105 share no factor
  values.sort((x, y) => scrambled(x.detail.i) - scrambled(y.detail.i));
  const rows = await t.db.insert(auditLog).values(values).returning();
  // Timestamps a millisecond Date cannot tell apart.
  const micro = await t.db
    .insert(auditLog)
    .values(['000003', '000001', '000002'].map((us) => ({ at: sql`${`2020-06-01 00:00:00.${us}+00`}::timestamptz`, actorLabel: 'micro@example.com', action: 'instance.start', outcome: 'success' as const })))
    .returning();
  for (const r of [...rows, ...micro]) seeded.push({ id: String(r.id), at: r.at, actorLabel: r.actorLabel, tenantId: r.tenantId, action: r.action, outcome: r.outcome });
});
afterAll(() => t.close());

/** All rows newest first, as the list pages them (ties: higher id first). */
async function everyRowDesc() {
  const rows = await t.db.select({ id: auditLog.id }).from(auditLog).orderBy(sql`${auditLog.at} desc, ${auditLog.id} desc`);
  return rows.map((r) => String(r.id));
}

async function walk(filters: AuditFilters, limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listAudit(t.db, { ...filters, limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    expect(pages).toBeLessThan(200);
  } while (cursor);
  return ids;
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

describe('listAudit', () => {
  it('lists newest first with ids as strings, tenant names joined', async () => {
    const page = await listAudit(t.db, { limit: 200 });
    expect(page.items).toHaveLength(108);
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((r) => r.id)).toEqual(await everyRowDesc());
    expect(page.items[0]!.actorLabel).toBe('micro@example.com');
    const inA = page.items.find((r) => r.tenantId === a.id)!;
    expect(inA).toMatchObject({ tenantName: 'Alpha', tenantSlug: a.slug });
    expect(typeof inA.id).toBe('string');
    expect(page.items.find((r) => r.tenantId === null)).toMatchObject({ tenantName: null, tenantSlug: null });
  });

  it('pages through every row exactly once, ties and microseconds included', async () => {
    const all = await everyRowDesc();
    for (const limit of [1, 3, 7, 50]) expect(await walk({}, limit)).toEqual(all);
  });

  it('pages a filtered list completely', async () => {
    const first = await listAudit(t.db, { action: 'instance.', limit: 200 });
    expect(await walk({ action: 'instance.' }, 4)).toEqual(first.items.map((r) => r.id));
  });

  it('defaults to 50 a page and says where the next page starts', async () => {
    const page = await listAudit(t.db, {});
    expect(page.items).toHaveLength(50);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('filters by tenant', async () => {
    const page = await listAudit(t.db, { tenantId: b.id, limit: 200 });
    expect(ids(page.items)).toEqual(ids(seeded.filter((s) => s.tenantId === b.id)));
    expect(page.items.length).toBe(35);
  });

  it('filters by actor as a case-insensitive substring, wildcards taken literally', async () => {
    const ada = await listAudit(t.db, { actor: 'ADA@exa', limit: 200 });
    expect(ids(ada.items)).toEqual(ids(seeded.filter((s) => s.actorLabel === 'Ada@Example.com')));
    const example = await listAudit(t.db, { actor: 'example.COM', limit: 200 });
    expect(ids(example.items)).toEqual(ids(seeded.filter((s) => s.actorLabel !== 'system')));
    expect((await listAudit(t.db, { actor: '%' })).items).toEqual([]);
    expect((await listAudit(t.db, { actor: 'b_b' })).items).toEqual([]);
  });

  it('filters by action: a prefix ending in a dot, or an exact action and its sub-actions', async () => {
    const instance = seeded.filter((s) => s.action.startsWith('instance.'));
    expect(ids((await listAudit(t.db, { action: 'instance.', limit: 200 })).items)).toEqual(ids(instance));
    expect(ids((await listAudit(t.db, { action: 'instance', limit: 200 })).items)).toEqual(ids(instance));
    expect(ids((await listAudit(t.db, { action: 'instance.stop', limit: 200 })).items)).toEqual(ids(seeded.filter((s) => s.action === 'instance.stop')));
    expect((await listAudit(t.db, { action: 'instance.sto' })).items).toEqual([]);
    expect((await listAudit(t.db, { action: 'settings.', limit: 200 })).items.every((r) => r.action === 'settings.set')).toBe(true);
  });

  it('filters by outcome', async () => {
    const failed = await listAudit(t.db, { outcome: 'failure', limit: 200 });
    expect(ids(failed.items)).toEqual(ids(seeded.filter((s) => s.outcome === 'failure')));
    expect(failed.items.length).toBe(21);
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    const from = new Date(base + 10 * 60_000);
    const to = new Date(base + 20 * 60_000);
    const page = await listAudit(t.db, { from, to, limit: 200 });
    expect(ids(page.items)).toEqual(ids(seeded.filter((s) => s.at >= from && s.at < to)));
    expect(page.items).toHaveLength(30);
  });

  it('combines filters', async () => {
    const page = await listAudit(t.db, { tenantId: a.id, actor: 'bob', action: 'instance.', outcome: 'success', limit: 200 });
    const expected = seeded.filter((s) => s.tenantId === a.id && s.actorLabel.startsWith('bob') && s.action.startsWith('instance.') && s.outcome === 'success');
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(page.items)).toEqual(ids(expected));
  });

  it('refuses a cursor it did not make', async () => {
    await expect(listAudit(t.db, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(DomainError);
    await expect(listAudit(t.db, { cursor: 'not-a-cursor' })).rejects.toThrow(/page link is not valid/);
  });
});

describe('auditForCsv', () => {
  it('returns every matching row, oldest first', async () => {
    const rows = await auditForCsv(t.db, {});
    expect(rows.map((r) => r.id)).toEqual((await everyRowDesc()).reverse());
    const failed = await auditForCsv(t.db, { outcome: 'failure', actor: 'ada' });
    expect(ids(failed)).toEqual(ids(seeded.filter((s) => s.outcome === 'failure' && s.actorLabel.startsWith('Ada'))));
  });
});

describe('filter input', () => {
  it('explains bad filters in sentences', () => {
    const msg = (input: unknown) => auditListInput.safeParse(input).error?.issues[0]?.message;
    expect(msg({ tenantId: 'alpha' })).toBe('Tenant must be a tenant id (a UUID).');
    expect(msg({ outcome: 'maybe' })).toBe('Outcome is "success" or "failure".');
    expect(msg({ action: 'drop table;' })).toMatch(/^Action is letters, digits and dots/);
    expect(msg({ from: new Date(base + 1), to: new Date(base) })).toBe('"To" must be after "From".');
    expect(msg({ limit: 500 })).toBe('Ask for at most 200 rows a page.');
    expect(msg({ from: 'yesterday' })).toBe('"From" must be a date and time.');
    expect(auditListInput.parse({}).limit).toBe(50);
  });

  it('takes dates as strings (the CSV route) and as Dates (tRPC)', () => {
    expect(auditFiltersInput.parse({ from: '2020-01-01T00:00:00Z' }).from).toEqual(new Date(base));
    expect(auditFiltersInput.parse({ from: new Date(base) }).from).toEqual(new Date(base));
  });
});
