import type { SQL } from 'drizzle-orm';
import { auditLog } from '../db/schema';
import type { DbOrTx } from '../db/client';

/** Who is acting: a signed-in user (through a session or an API token) or Cirrus itself. */
export type Actor =
  | { kind: 'user'; userId: string; email: string; isAdmin: boolean; requestId: string }
  | { kind: 'system'; requestId: string };

export const systemActor = (requestId = 'system'): Actor => ({ kind: 'system', requestId });

export type AuditEntry = {
  action: string;
  tenantId?: string | null;
  target?: { type: string; id: string };
  outcome?: 'success' | 'failure';
  detail?: Record<string, unknown>;
};

/**
 * The one way to write the audit log. Domain functions call it inside the
 * transaction of the change they record, so the record and the change commit
 * together; the tRPC layer records refusals and failures (server/trpc/init.ts).
 */
export async function recordAudit(db: DbOrTx, actor: Actor, entry: AuditEntry): Promise<void> {
  await db.execute(auditInsert(db, actor, entry));
}

/** recordAudit's insert, for a caller that runs it with its other writes in one statement (writeTogether). */
export function auditInsert(db: DbOrTx, actor: Actor, entry: AuditEntry): SQL {
  return db.insert(auditLog).values({
    actorUserId: actor.kind === 'user' ? actor.userId : null,
    actorLabel: actor.kind === 'user' ? actor.email : 'system',
    tenantId: entry.tenantId ?? null,
    action: entry.action,
    targetType: entry.target?.type ?? null,
    targetId: entry.target?.id ?? null,
    outcome: entry.outcome ?? 'success',
    requestId: actor.requestId,
    detail: entry.detail ?? null,
  }).getSQL();
}
