import crypto from 'node:crypto';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { findActiveUser } from '../accounts/users';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { consoleTickets, instances } from '../db/schema';
import { DomainError } from '../errors';
import { getInstance } from '../instances/queries';
import { roleAtLeast } from '../tenants/roles';
import { findMembership } from '../tenants/tenants';

export const TICKET_TTL_SECONDS = 30;
export type ConsoleKind = 'vnc' | 'serial';
const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const hash = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');

/**
 * A console ticket: 32 random bytes, stored only as a hash, valid for 30 s,
 * usable once, bound to the user, the tenant and the instance. The instance
 * must be running. (Who may ask — members, not viewers — is the procedure's rule.)
 */
export async function issueTicket(
  db: DbOrTx,
  actor: Actor & { kind: 'user' },
  tenantId: string,
  input: { instanceId: string; kind: ConsoleKind },
): Promise<{ path: string; expiresAt: Date }> {
  return db.transaction(async (tx) => {
    const inst = await getInstance(tx, tenantId, input.instanceId);
    if (inst.state !== 'running') {
      throw new DomainError('INVALID_STATE', `The console opens only while the instance runs; ${inst.name} is ${inst.state}.`);
    }
    const secret = crypto.randomBytes(32).toString('base64url');
    const [row] = await tx
      .insert(consoleTickets)
      .values({
        tokenHash: hash(secret),
        userId: actor.userId,
        tenantId,
        instanceId: inst.id,
        kind: input.kind,
        expiresAt: sql`now() + make_interval(secs => ${TICKET_TTL_SECONDS})`,
      })
      .returning({ id: consoleTickets.id, expiresAt: consoleTickets.expiresAt });
    if (!row) throw new Error('ticket insert returned nothing');
    await recordAudit(tx, actor, {
      action: 'console.ticket',
      tenantId,
      target: { type: 'instance', id: inst.id },
      detail: { kind: input.kind, ticket: row.id },
    });
    // Expired tickets are of no use to anyone: sweep them now and then.
    await tx.delete(consoleTickets).where(lt(consoleTickets.expiresAt, sql`now() - interval '1 hour'`));
    return { path: `/api/console/ws?ticket=${secret}`, expiresAt: row.expiresAt };
  });
}

/** `hostId`: where the instance runs as the ticket is used (its console is opened there). */
export type RedeemedTicket = { ticketId: string; userId: string; email: string; tenantId: string; instanceId: string; hostId: string; kind: ConsoleKind };
export type Refusal = { ok: false; code: number; reason: string; audit?: { userId: string; email: string; tenantId: string; instanceId: string } };

/**
 * Burn a ticket (one atomic UPDATE: a second use finds it used) and check,
 * now, that its user is still active, still a member who may use consoles,
 * and that the instance still runs.
 */
export async function redeemTicket(db: DbOrTx, secret: string | null): Promise<{ ok: true; ticket: RedeemedTicket } | Refusal> {
  if (!secret || !TICKET_PATTERN.test(secret)) return { ok: false, code: 4401, reason: 'This console link is not valid. Open the console again.' };
  const [t] = await db
    .update(consoleTickets)
    .set({ usedAt: sql`now()` })
    .where(and(eq(consoleTickets.tokenHash, hash(secret)), isNull(consoleTickets.usedAt), gt(consoleTickets.expiresAt, sql`now()`)))
    .returning();
  if (!t) return { ok: false, code: 4401, reason: 'This console link has expired or was already used. Open the console again.' };
  const user = await findActiveUser(db, t.userId);
  const who = { userId: t.userId, email: user?.email ?? 'unknown', tenantId: t.tenantId, instanceId: t.instanceId };
  if (!user) return { ok: false, code: 4403, reason: 'Your account cannot open consoles.', audit: who };
  const membership = await findMembership(db, user.id, { tenantId: t.tenantId });
  if (!membership || !roleAtLeast(membership.role, 'member')) {
    return { ok: false, code: 4403, reason: 'You no longer have access to this instance’s console.', audit: who };
  }
  if (membership.suspendedAt) return { ok: false, code: 4403, reason: 'This tenant is suspended.', audit: who };
  const [inst] = await db
    .select({ state: instances.state, hostId: instances.hostId })
    .from(instances)
    .where(and(eq(instances.id, t.instanceId), eq(instances.tenantId, t.tenantId)));
  if (inst?.state !== 'running' || !inst.hostId) return { ok: false, code: 4409, reason: 'The instance is not running.', audit: who };
  return { ok: true, ticket: { ticketId: t.id, userId: user.id, email: user.email, tenantId: t.tenantId, instanceId: t.instanceId, hostId: inst.hostId, kind: t.kind } };
}

/** Sessions whose access ended: the instance left `running`, or the user lost the right to consoles. */
export async function stillAllowed(db: DbOrTx, s: { userId: string; tenantId: string; instanceId: string }): Promise<string | null> {
  // Access before the instance: a suspension also stops the instance, and the user should read why.
  const user = await findActiveUser(db, s.userId);
  const membership = user ? await findMembership(db, user.id, { tenantId: s.tenantId }) : null;
  if (!membership || !roleAtLeast(membership.role, 'member')) return 'Your access to this console was removed.';
  if (membership.suspendedAt) return `This tenant was suspended by an administrator: ${membership.suspendReason ?? 'no reason given'}.`;
  const [inst] = await db.select({ state: instances.state }).from(instances).where(and(eq(instances.id, s.instanceId), eq(instances.tenantId, s.tenantId)));
  if (inst?.state !== 'running') return 'The instance stopped.';
  return null;
}

export async function auditConsole(db: DbOrTx, who: { userId: string; email: string; tenantId: string; instanceId: string }, outcome: 'success' | 'failure', detail: Record<string, unknown>) {
  const actor: Actor = { kind: 'user', userId: who.userId, email: who.email, isAdmin: false, requestId: 'console' };
  await recordAudit(db, actor, { action: 'console.open', tenantId: who.tenantId, target: { type: 'instance', id: who.instanceId }, outcome, detail });
}

/** The host an instance is on now (null: none, or gone). */
export async function hostOf(db: DbOrTx, instanceId: string): Promise<string | null> {
  const [row] = await db.select({ hostId: instances.hostId }).from(instances).where(eq(instances.id, instanceId));
  return row?.hostId ?? null;
}
