import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiTokens } from '../db/schema';
import { callerAs, disableUser, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  // The HTTP handler reads DATABASE_URL through getDb(); point it at this file's database.
  vi.stubEnv('DATABASE_URL', t.url);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  const { closeDb } = await import('../db/client');
  await closeDb();
  await t.close();
});

/** A real tRPC HTTP request through the same handler and context as /api/trpc. */
async function httpCall(path: string, token?: string) {
  const { createContext } = await import('../trpc/context');
  const { appRouter } = await import('../trpc/root');
  const req = new Request(`http://localhost/api/trpc/${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const res = await fetchRequestHandler({ endpoint: '/api/trpc', req, router: appRouter, createContext: () => createContext(req) });
  return { status: res.status, body: (await res.json()) as { result?: { data: { json: unknown } }; error?: { json: { data: { code: string } } } } };
}

describe('personal API tokens', () => {
  it('note their last use to the minute, without rewriting the row on every call', async () => {
    const user = await makeUser(t.db);
    const created = await callerAs(t.db, user).tokens.create({ name: 'busy script' });
    const lastUsed = async () => (await t.db.select().from(apiTokens).where(eq(apiTokens.id, created.id)))[0]!.lastUsedAt;
    expect((await httpCall('me.get', created.secret)).status).toBe(200);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    expect((await httpCall('me.get', created.secret)).status).toBe(200);
    expect(await lastUsed()).toEqual(first);
    await t.db.update(apiTokens).set({ lastUsedAt: sql`now() - interval '2 minutes'` }).where(eq(apiTokens.id, created.id));
    const older = await lastUsed();
    expect((await httpCall('me.get', created.secret)).status).toBe(200);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(older!.getTime());
  });

  it('authenticate tRPC calls as their user until revoked; the secret is stored only hashed', async () => {
    const user = await makeUser(t.db);
    const created = await callerAs(t.db, user).tokens.create({ name: 'ci' });
    expect(created.secret).toMatch(/^cirrus_[A-Za-z0-9_-]{43}$/);
    const [stored] = await t.db.select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(7));
    expect(stored?.lastUsedAt).toBeNull();

    const ok = await httpCall('me.get', created.secret);
    expect(ok.status).toBe(200);
    expect(ok.body.result?.data.json).toMatchObject({ user: { id: user.id, email: user.email } });
    const [used] = await t.db.select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(used?.lastUsedAt).toBeInstanceOf(Date);
    // Listing never returns the secret again.
    expect(JSON.stringify(await callerAs(t.db, user).tokens.list())).not.toContain(created.secret);

    await callerAs(t.db, user).tokens.revoke({ id: created.id });
    const refused = await httpCall('me.get', created.secret);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.json.data.code).toBe('UNAUTHORIZED');
  });

  it('refuses unknown and malformed tokens, and the tokens of a disabled user', async () => {
    expect((await httpCall('me.get', 'cirrus_' + 'A'.repeat(43))).status).toBe(401);
    expect((await httpCall('me.get', 'not-a-token')).status).toBe(401);
    const user = await makeUser(t.db);
    const { secret } = await callerAs(t.db, user).tokens.create({ name: 'laptop' });
    expect((await httpCall('me.get', secret)).status).toBe(200);
    await disableUser(t.db, user);
    expect((await httpCall('me.get', secret)).status).toBe(401);
  });

  it('rejects an empty name with a readable message', async () => {
    const user = await makeUser(t.db);
    await expect(callerAs(t.db, user).tokens.create({ name: '   ' })).rejects.toThrow(/Give the token a name/);
  });
});
