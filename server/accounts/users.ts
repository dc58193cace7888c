import { eq } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { users } from '../db/schema';
import { DomainError } from '../errors';
import { getSetting } from '../settings';
import { createTenantTx, type TenantSummary } from '../tenants/tenants';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password';
import type { SignUpInput } from './validation';

/** What the rest of the server knows about a signed-in user. Never includes the password hash. */
export type SessionUser = { id: string; email: string; name: string; isAdmin: boolean };

export const sessionUserColumns = { id: users.id, email: users.email, name: users.name, isAdmin: users.isAdmin };

/** An active (not disabled) user by id, or null. Called on every authenticated request. */
export async function findActiveUser(db: DbOrTx, userId: string): Promise<SessionUser | null> {
  const [row] = await db
    .select({ ...sessionUserColumns, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  if (!row || row.disabledAt) return null;
  return { id: row.id, email: row.email, name: row.name, isAdmin: row.isAdmin };
}

/** Check an e-mail and password; null on any mismatch (same time either way). */
export async function authenticate(db: DbOrTx, email: string, password: string): Promise<SessionUser | null> {
  const [row] = await db
    .select({ ...sessionUserColumns, passwordHash: users.passwordHash, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.email, email.trim().toLowerCase()))
    .limit(1);
  const ok = await verifyPassword(row?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!row || !ok || row.disabledAt) return null;
  return { id: row.id, email: row.email, name: row.name, isAdmin: row.isAdmin };
}

/** Create a user inside a transaction; a taken e-mail is a field error, not a 500. */
export async function insertUser(
  db: DbOrTx,
  input: { email: string; name: string; password: string; isAdmin?: boolean },
): Promise<SessionUser> {
  const passwordHash = await hashPassword(input.password);
  const rows = await db
    .insert(users)
    .values({ email: input.email, name: input.name, passwordHash, isAdmin: input.isAdmin ?? false })
    .onConflictDoNothing({ target: users.email })
    .returning(sessionUserColumns);
  const user = rows[0];
  if (!user) {
    throw new DomainError('CONFLICT', 'An account with this e-mail already exists. Sign in instead.', 'email');
  }
  return user;
}

/**
 * Self-service sign-up: the user and their own tenant (they are its owner),
 * in one transaction. Refused when an admin has turned sign-up off.
 */
export async function signUp(
  db: DbOrTx,
  requestId: string,
  input: SignUpInput,
): Promise<{ user: SessionUser; tenant: TenantSummary }> {
  return db.transaction(async (tx) => {
    if (!(await getSetting(tx, 'signupEnabled'))) {
      throw new DomainError('SIGNUP_DISABLED', 'Sign-up is turned off on this Cirrus. Ask an administrator for an account.');
    }
    const user = await insertUser(tx, input);
    const actor: Actor = { kind: 'user', userId: user.id, email: user.email, isAdmin: false, requestId };
    await recordAudit(tx, actor, { action: 'user.signUp', target: { type: 'user', id: user.id } });
    const tenant = await createTenantTx(tx, actor, `${input.name}'s tenant`, user.id);
    return { user, tenant };
  });
}
