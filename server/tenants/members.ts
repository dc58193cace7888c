import { and, asc, eq } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { notifyConsoleAccess } from '../console/access-notify';
import type { DbOrTx, Tx } from '../db/client';
import { memberships, users } from '../db/schema';
import { DomainError } from '../errors';
import type { Role } from './roles';

export type Member = { userId: string; email: string; name: string; role: Role; since: Date };

/** A member as their tenant sees them; admins add account flags (server/admin/tenants.ts). */
export const memberColumns = { userId: users.id, email: users.email, name: users.name, role: memberships.role, since: memberships.createdAt };

export async function listMembers(db: DbOrTx, tenantId: string): Promise<Member[]> {
  return db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.tenantId, tenantId))
    .orderBy(asc(users.email));
}

/**
 * Lock the tenant's membership rows so concurrent role changes cannot both
 * remove the last owner, and re-check under the lock that the actor is still
 * an owner (they may have been demoted since the request was authorized).
 */
async function lockMembers(tx: Tx, actor: Actor, tenantId: string) {
  const rows = await tx
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(eq(memberships.tenantId, tenantId))
    .for('update');
  const self = actor.kind === 'user' ? rows.find((r) => r.userId === actor.userId) : undefined;
  if (actor.kind === 'user' && self?.role !== 'owner') {
    throw new DomainError('FORBIDDEN', 'Only owners can change members, and you are no longer an owner of this tenant.');
  }
  return rows;
}

export async function addMember(
  db: DbOrTx,
  actor: Actor,
  tenantId: string,
  input: { email: string; role: Role },
): Promise<Member> {
  return db.transaction(async (tx) => {
    await lockMembers(tx, actor, tenantId);
    const [user] = await tx
      .select({ id: users.id, email: users.email, name: users.name })
      .from(users)
      .where(eq(users.email, input.email))
      .limit(1);
    if (!user) {
      throw new DomainError(
        'NOT_FOUND',
        `No Cirrus user has the e-mail ${input.email}. Ask them to sign up first, then add them.`,
        'email',
      );
    }
    const inserted = await tx
      .insert(memberships)
      .values({ tenantId, userId: user.id, role: input.role })
      .onConflictDoNothing()
      .returning({ since: memberships.createdAt });
    const row = inserted[0];
    if (!row) throw new DomainError('CONFLICT', `${user.email} is already a member of this tenant.`, 'email');
    await recordAudit(tx, actor, {
      action: 'tenant.member.add',
      tenantId,
      target: { type: 'user', id: user.id },
      detail: { email: user.email, role: input.role },
    });
    return { userId: user.id, email: user.email, name: user.name, role: input.role, since: row.since };
  });
}

function ensureOwnerRemains(rows: { userId: string; role: Role }[], changedUserId: string, newRole: Role | null) {
  const owners = rows.filter((r) => r.role === 'owner' && r.userId !== changedUserId).length;
  if (owners === 0 && newRole !== 'owner') {
    throw new DomainError(
      'LAST_OWNER',
      'A tenant needs at least one owner: make another member an owner first.',
    );
  }
}

export async function setMemberRole(
  db: DbOrTx,
  actor: Actor,
  tenantId: string,
  input: { userId: string; role: Role },
): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await lockMembers(tx, actor, tenantId);
    const current = rows.find((r) => r.userId === input.userId);
    if (!current) throw new DomainError('NOT_FOUND', 'That user is not a member of this tenant.');
    if (current.role === input.role) return;
    ensureOwnerRemains(rows, input.userId, input.role);
    await tx
      .update(memberships)
      .set({ role: input.role })
      .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, input.userId)));
    await notifyConsoleAccess(tx, tenantId);
    await recordAudit(tx, actor, {
      action: 'tenant.member.setRole',
      tenantId,
      target: { type: 'user', id: input.userId },
      detail: { from: current.role, to: input.role },
    });
  });
}

export async function removeMember(
  db: DbOrTx,
  actor: Actor,
  tenantId: string,
  input: { userId: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await lockMembers(tx, actor, tenantId);
    const current = rows.find((r) => r.userId === input.userId);
    if (!current) throw new DomainError('NOT_FOUND', 'That user is not a member of this tenant.');
    ensureOwnerRemains(rows, input.userId, null);
    await tx
      .delete(memberships)
      .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, input.userId)));
    await notifyConsoleAccess(tx, tenantId);
    await recordAudit(tx, actor, {
      action: 'tenant.member.remove',
      tenantId,
      target: { type: 'user', id: input.userId },
      detail: { role: current.role },
    });
  });
}
