import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { quotaRequests, tenantQuotas, tenants, users } from '../db/schema';
import { DomainError } from '../errors';
import { lockTenantQuota, resourceLabels, type QuotaResource } from './index';

const columns = {
  id: quotaRequests.id,
  tenantId: quotaRequests.tenantId,
  resource: quotaRequests.resource,
  requestedLimit: quotaRequests.requestedLimit,
  limitAtRequest: quotaRequests.limitAtRequest,
  reason: quotaRequests.reason,
  status: quotaRequests.status,
  comment: quotaRequests.comment,
  createdAt: quotaRequests.createdAt,
  decidedAt: quotaRequests.decidedAt,
};

/** A tenant owner asks for a new limit on one resource, saying why. */
export async function createQuotaRequest(
  db: DbOrTx,
  actor: Actor & { kind: 'user' },
  tenantId: string,
  input: { resource: QuotaResource; limit: number; reason: string },
) {
  return db.transaction(async (tx) => {
    const limits = await lockTenantQuota(tx, tenantId);
    if (input.limit === limits[input.resource]) {
      throw new DomainError('INVALID_INPUT', `The ${resourceLabels[input.resource].name} limit is already ${input.limit}.`, 'limit');
    }
    const [pending] = await tx
      .select({ id: quotaRequests.id })
      .from(quotaRequests)
      .where(and(eq(quotaRequests.tenantId, tenantId), eq(quotaRequests.resource, input.resource), eq(quotaRequests.status, 'pending')));
    if (pending) throw new DomainError('CONFLICT', `A request for ${resourceLabels[input.resource].name} is already waiting for an administrator.`, 'resource');
    const [row] = await tx
      .insert(quotaRequests)
      .values({ tenantId, resource: input.resource, requestedLimit: input.limit, limitAtRequest: limits[input.resource], reason: input.reason, requestedBy: actor.userId })
      .returning(columns);
    await recordAudit(tx, actor, { action: 'quotaRequests.create', tenantId, target: { type: 'quota_request', id: row!.id }, detail: { resource: input.resource, limit: input.limit } });
    return row!;
  });
}

export async function listQuotaRequests(db: DbOrTx, tenantId: string) {
  return db.select(columns).from(quotaRequests).where(eq(quotaRequests.tenantId, tenantId)).orderBy(desc(quotaRequests.createdAt)).limit(100);
}

/** For admins: pending requests first (oldest first), then the latest decisions. */
export async function adminListQuotaRequests(db: DbOrTx) {
  return db
    .select({ ...columns, tenantName: tenants.name, tenantSlug: tenants.slug, requestedByEmail: users.email })
    .from(quotaRequests)
    .innerJoin(tenants, eq(tenants.id, quotaRequests.tenantId))
    .leftJoin(users, eq(users.id, quotaRequests.requestedBy))
    .orderBy(sql`${quotaRequests.status} <> 'pending'`, asc(sql`case when ${quotaRequests.status} = 'pending' then ${quotaRequests.createdAt} end`), desc(quotaRequests.decidedAt))
    .limit(200);
}

/** Approve (the limit changes in the same transaction) or deny, with a comment the tenant sees. */
export async function decideQuotaRequest(db: DbOrTx, actor: Actor & { kind: 'user' }, input: { id: string; approve: boolean; comment?: string }) {
  return db.transaction(async (tx) => {
    const [req] = await tx.select().from(quotaRequests).where(eq(quotaRequests.id, input.id)).for('update');
    if (!req) throw new DomainError('NOT_FOUND', 'That quota request was not found.');
    if (req.status !== 'pending') throw new DomainError('INVALID_STATE', `That request was already ${req.status}.`);
    if (input.approve) {
      await lockTenantQuota(tx, req.tenantId);
      await tx
        .update(tenantQuotas)
        .set({ [req.resource]: req.requestedLimit, updatedAt: sql`now()` })
        .where(eq(tenantQuotas.tenantId, req.tenantId));
    }
    const [row] = await tx
      .update(quotaRequests)
      .set({ status: input.approve ? 'approved' : 'denied', decidedBy: actor.userId, comment: input.comment ?? null, decidedAt: sql`now()` })
      .where(eq(quotaRequests.id, req.id))
      .returning(columns);
    await recordAudit(tx, actor, {
      action: input.approve ? 'admin.quotaRequests.approve' : 'admin.quotaRequests.deny',
      tenantId: req.tenantId,
      target: { type: 'quota_request', id: req.id },
      detail: { resource: req.resource, limit: req.requestedLimit, comment: input.comment ?? null },
    });
    return row!;
  });
}
