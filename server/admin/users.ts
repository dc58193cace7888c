import { and, asc, count, eq, gt, isNotNull, ne, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { memberships, users } from '../db/schema';
import { ALL_TENANTS, notifyConsoleAccess } from '../console/access-notify';
import { DomainError } from '../errors';
import { containsAny } from '../db/like';
import { outer } from '../db/outer';

/** Users for admins: search by e-mail or name, keyset-paged by e-mail. */
export async function listUsers(db: DbOrTx, input: { search?: string; cursor?: string | null; limit: number }) {
  const conds = [];
  if (input.search) conds.push(containsAny(input.search, users.email, users.name));
  if (input.cursor) conds.push(gt(users.email, input.cursor));
  const rows = await db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      isAdmin: users.isAdmin,
      disabledAt: users.disabledAt,
      createdAt: users.createdAt,
      tenants: sql<number>`(select count(*)::int from ${memberships} m where m.user_id = ${outer(users.id)})`,
    })
    .from(users)
    .where(and(...conds))
    .orderBy(asc(users.email))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? (items[items.length - 1]?.email ?? null) : null };
}

async function lockUser(db: DbOrTx, userId: string) {
  const [u] = await db.select().from(users).where(eq(users.id, userId)).for('update');
  if (!u) throw new DomainError('NOT_FOUND', 'That user was not found.');
  return u;
}

/** Make or revoke a platform admin. The last active admin cannot be revoked (someone must be able to run the cloud). */
export async function setAdmin(db: DbOrTx, actor: Actor, input: { userId: string; isAdmin: boolean }) {
  await db.transaction(async (tx) => {
    // Serialise admin changes so two admins cannot revoke each other at once.
    await tx.execute(sql`select pg_advisory_xact_lock(0x61646d6e)`);
    const u = await lockUser(tx, input.userId);
    if (u.isAdmin === input.isAdmin) return;
    if (!input.isAdmin) {
      const [{ n } = { n: 0 }] = await tx
        .select({ n: count() })
        .from(users)
        .where(and(eq(users.isAdmin, true), sql`${users.disabledAt} is null`, ne(users.id, u.id)));
      if (n === 0) throw new DomainError('LAST_OWNER', `${u.email} is the last active administrator; make someone else an administrator first.`);
    }
    await tx.update(users).set({ isAdmin: input.isAdmin }).where(eq(users.id, u.id));
    await recordAudit(tx, actor, { action: input.isAdmin ? 'admin.users.grantAdmin' : 'admin.users.revokeAdmin', target: { type: 'user', id: u.id }, detail: { email: u.email } });
  });
}

/**
 * Disable (or re-enable) a user. Every request re-reads the user row, so their
 * sessions and API tokens stop working on their very next request.
 */
export async function setDisabled(db: DbOrTx, actor: Actor, input: { userId: string; disabled: boolean }) {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(0x61646d6e)`);
    const u = await lockUser(tx, input.userId);
    if (actor.kind === 'user' && actor.userId === u.id && input.disabled) {
      throw new DomainError('INVALID_INPUT', 'You cannot disable your own account.');
    }
    if (input.disabled && u.isAdmin) {
      const [{ n } = { n: 0 }] = await tx
        .select({ n: count() })
        .from(users)
        .where(and(eq(users.isAdmin, true), sql`${users.disabledAt} is null`, ne(users.id, u.id)));
      if (n === 0) throw new DomainError('LAST_OWNER', `${u.email} is the last active administrator and cannot be disabled.`);
    }
    if (Boolean(u.disabledAt) === input.disabled) return;
    await tx.update(users).set({ disabledAt: input.disabled ? sql`now()` : null }).where(eq(users.id, u.id));
    if (input.disabled) await notifyConsoleAccess(tx, ALL_TENANTS);
    await recordAudit(tx, actor, { action: input.disabled ? 'admin.users.disable' : 'admin.users.enable', target: { type: 'user', id: u.id }, detail: { email: u.email } });
  });
}

export const disabledUsers = (db: DbOrTx) => db.select({ id: users.id }).from(users).where(isNotNull(users.disabledAt));
