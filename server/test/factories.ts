import crypto from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { SessionUser } from '../accounts/users';
import { insertUser } from '../accounts/users';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { memberships, users } from '../db/schema';
import type { Role } from '../tenants/roles';
import { createTenantTx, type TenantSummary } from '../tenants/tenants';
import { TRPCError } from '@trpc/server';
import { formatError } from '../trpc/errors';
import { createCaller } from '../trpc/root';

export const TEST_PASSWORD = 'correct horse battery';

export async function makeUser(db: Db, opts: { isAdmin?: boolean; email?: string } = {}): Promise<SessionUser> {
  const email = opts.email ?? `user-${crypto.randomBytes(5).toString('hex')}@example.test`;
  return insertUser(db, { email, name: email.split('@')[0]!, password: TEST_PASSWORD, isAdmin: opts.isAdmin });
}

export async function makeTenant(db: Db, owner: SessionUser, name = 'Tenant'): Promise<TenantSummary> {
  return db.transaction((tx) => createTenantTx(tx, systemActor('test'), name, owner.id));
}

export async function addRole(db: Db, tenant: TenantSummary, user: SessionUser, role: Role) {
  await db.insert(memberships).values({ tenantId: tenant.id, userId: user.id, role });
}

export async function disableUser(db: Db, user: SessionUser) {
  await db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, user.id));
}

/** A tRPC caller acting as `user` (null: anonymous), as the HTTP handler would build it. */
export function callerAs(db: Db, user: SessionUser | null) {
  return createCaller({ db, user, requestId: `test-${crypto.randomUUID()}`, via: user ? 'session' : 'none' });
}

/** How a call was refused, as the client sees it: transport code, reason, sentence and field errors (throws if it was not). */
export async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof TRPCError)) throw e;
    const { message, data } = formatError(e, null);
    return { code: e.code, reason: data.reason, message, fieldErrors: data.fieldErrors };
  }
  throw new Error('expected the call to be refused');
}
