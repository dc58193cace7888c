import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../db/schema';
import { addRole, callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof TRPCError ? e.code : Promise.reject(e)),
  );

describe('tenant members', () => {
  it('an owner adds an existing user by e-mail, changes their role and removes them, all audited', async () => {
    const owner = await makeUser(t.db);
    const friend = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner).tenants.members;
    await api.add({ tenantId: tenant.id, email: friend.email.toUpperCase(), role: 'viewer' });
    expect((await api.list({ tenantId: tenant.id })).map((m) => [m.email, m.role]).sort()).toEqual(
      [[owner.email, 'owner'], [friend.email, 'viewer']].sort(),
    );
    // The friend now sees the tenant in their list and switcher.
    expect((await callerAs(t.db, friend).tenants.list()).map((x) => x.id)).toContain(tenant.id);
    await api.setRole({ tenantId: tenant.id, userId: friend.id, role: 'member' });
    await api.remove({ tenantId: tenant.id, userId: friend.id });
    expect((await callerAs(t.db, friend).tenants.list()).map((x) => x.id)).not.toContain(tenant.id);
    const actions = (await t.db.select().from(auditLog).where(eq(auditLog.tenantId, tenant.id))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['tenant.member.add', 'tenant.member.setRole', 'tenant.member.remove']));
  });

  it('explains an unknown e-mail and a duplicate as field errors', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner).tenants.members;
    await expect(api.add({ tenantId: tenant.id, email: 'nobody@example.test', role: 'member' })).rejects.toThrow(/Ask them to sign up first/);
    await expect(api.add({ tenantId: tenant.id, email: owner.email, role: 'member' })).rejects.toThrow(/already a member/);
    // The refusal itself is in the audit log.
    const failures = await t.db.select().from(auditLog).where(eq(auditLog.outcome, 'failure'));
    expect(failures.some((f) => f.action === 'tenants.members.add' && f.tenantId === tenant.id)).toBe(true);
  });

  it('never leaves a tenant without an owner, even when two owners demote each other at once', async () => {
    const a = await makeUser(t.db);
    const b = await makeUser(t.db);
    const tenant = await makeTenant(t.db, a);
    await addRole(t.db, tenant, b, 'owner');
    const results = await Promise.all([
      codeOf(callerAs(t.db, a).tenants.members.setRole({ tenantId: tenant.id, userId: b.id, role: 'member' })),
      codeOf(callerAs(t.db, b).tenants.members.setRole({ tenantId: tenant.id, userId: a.id, role: 'member' })),
    ]);
    // One demotion wins; the other is refused (LAST_OWNER, or FORBIDDEN if its caller was demoted first).
    expect(results.filter((r) => r === null)).toHaveLength(1);
    const owners = (await callerAs(t.db, a).tenants.members.list({ tenantId: tenant.id }).catch(() =>
      callerAs(t.db, b).tenants.members.list({ tenantId: tenant.id }),
    )).filter((m) => m.role === 'owner');
    expect(owners).toHaveLength(1);
    // The last owner can neither demote nor remove themselves.
    const last = owners[0]!;
    const lastCaller = callerAs(t.db, last.userId === a.id ? a : b).tenants.members;
    await expect(lastCaller.setRole({ tenantId: tenant.id, userId: last.userId, role: 'viewer' })).rejects.toThrow(/at least one owner/);
    await expect(lastCaller.remove({ tenantId: tenant.id, userId: last.userId })).rejects.toThrow(/at least one owner/);
  });
});
