import { and, eq } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, memberships, tenants, users } from '../db/schema';
import { callerAs, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { authenticate } from './users';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('auth.signUp', () => {
  it('creates the user, their own tenant with them as owner, and audit records', async () => {
    const res = await callerAs(t.db, null).auth.signUp({ email: '  Ada@Example.COM ', password: 'analytical-engine', name: 'Ada Lovelace' });
    expect(res.user.email).toBe('ada@example.com');
    expect(res.tenant.slug).toBe('ada-lovelace-s-tenant');
    const [m] = await t.db.select().from(memberships).where(eq(memberships.userId, res.user.id));
    expect(m).toMatchObject({ tenantId: res.tenant.id, role: 'owner' });
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.actorUserId, res.user.id));
    expect(audit.map((a) => a.action).sort()).toEqual(['tenant.create', 'user.signUp']);
    // The password is stored as an argon2id hash and checks out.
    const [row] = await t.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, res.user.id));
    expect(row?.hash).toMatch(/^\$argon2id\$/);
    expect(await authenticate(t.db, 'ADA@example.com', 'analytical-engine')).toMatchObject({ id: res.user.id });
    expect(await authenticate(t.db, 'ada@example.com', 'wrong-password')).toBeNull();
  });

  it('gives a second tenant with the same name its own slug', async () => {
    const a = await callerAs(t.db, null).auth.signUp({ email: 'sam1@example.com', password: 'long enough pw', name: 'Sam' });
    const b = await callerAs(t.db, null).auth.signUp({ email: 'sam2@example.com', password: 'long enough pw', name: 'Sam' });
    expect(a.tenant.slug).toBe('sam-s-tenant');
    expect(b.tenant.slug).toMatch(/^sam-s-tenant-[0-9a-f]{6}$/);
  });

  it('refuses a taken e-mail as a field error, leaving nothing behind', async () => {
    const before = (await t.db.select().from(tenants)).length;
    const err = await refusal(callerAs(t.db, null).auth.signUp({ email: 'ADA@example.com', password: 'whatever-long', name: 'Imposter' }));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toMatch(/already exists/);
    expect((await t.db.select().from(tenants)).length).toBe(before);
  });

  it('refuses malformed input with one message per field', async () => {
    const err = await refusal(callerAs(t.db, null).auth.signUp({ email: 'not-an-email', password: 'short', name: '' }));
    expect(err.code).toBe('BAD_REQUEST');
  });

  it('is refused when an admin turns sign-up off, and allowed again when turned on', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    await callerAs(t.db, admin).admin.settings.setSignupEnabled({ enabled: false });
    expect(await callerAs(t.db, null).auth.signUpStatus()).toEqual({ enabled: false });
    const err = await refusal(callerAs(t.db, null).auth.signUp({ email: 'late@example.com', password: 'long enough pw', name: 'Late' }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toMatch(/turned off/);
    expect(await t.db.select().from(users).where(eq(users.email, 'late@example.com'))).toEqual([]);
    const audit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'settings.set'), eq(auditLog.actorUserId, admin.id)));
    expect(audit).toHaveLength(1);
    await callerAs(t.db, admin).admin.settings.setSignupEnabled({ enabled: true });
    await expect(callerAs(t.db, null).auth.signUp({ email: 'late@example.com', password: 'long enough pw', name: 'Late' })).resolves.toBeTruthy();
  });

  it('lets many people sign up with one e-mail at once: exactly one wins', async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, () => callerAs(t.db, null).auth.signUp({ email: 'race@example.com', password: 'long enough pw', name: 'Race' })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(await t.db.select().from(users).where(eq(users.email, 'race@example.com'))).toHaveLength(1);
  });
});
