import { and, asc, eq, gt, inArray, isNotNull, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { chargeTotals } from '../billing/charges';
import { clock } from '../billing/summary';
import type { Db, DbOrTx } from '../db/client';
import { instances, memberships, tenants, users } from '../db/schema';
import { DomainError } from '../errors';
import { containsAny } from '../db/like';
import { notifyConsoleAccess } from '../console/access-notify';
import { requestInstanceAction } from '../instances/actions';
import { tenantLimits, tenantUsage, usageAndLimits } from '../quotas';
import { memberColumns } from '../tenants/members';
import { createTenantTx } from '../tenants/tenants';
import { outer } from '../db/outer';

/**
 * Tenants for admins, a page at a time (keyset by slug), optionally searched
 * by name or slug: each with members, usage against quotas and month-to-date
 * cost — batched, so a page costs a handful of queries however long it is.
 */
export async function listTenantsForAdmin(db: DbOrTx, input: { search?: string; cursor?: string | null; limit: number }) {
  const conds = [];
  if (input.search) conds.push(containsAny(input.search, tenants.name, tenants.slug));
  if (input.cursor) conds.push(gt(tenants.slug, input.cursor));
  const rows = await db
    .select({
      id: tenants.id,
      slug: tenants.slug,
      name: tenants.name,
      createdAt: tenants.createdAt,
      suspendedAt: tenants.suspendedAt,
      suspendReason: tenants.suspendReason,
      members: sql<number>`(select count(*)::int from ${memberships} m where m.tenant_id = ${outer(tenants.id)})`,
    })
    .from(tenants)
    .where(and(...conds))
    .orderBy(asc(tenants.slug))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const ids = page.map((t) => t.id);
  const { monthStart, monthEnd } = await clock(db);
  const [quota, cost] = await Promise.all([usageAndLimits(db, ids), chargeTotals(db, ids, monthStart, monthEnd)]);
  return {
    items: page.map((t) => ({ ...t, ...quota.get(t.id)!, monthToDateMicro: cost.get(t.id) ?? 0 })),
    nextCursor: rows.length > input.limit ? (page[page.length - 1]?.slug ?? null) : null,
  };
}

/** Suspend: changes are refused and consoles close (both check the flag), running instances are stopped, each saying why. */
export async function suspendTenant(db: Db, actor: Actor, input: { tenantId: string; reason: string }) {
  await db.transaction(async (tx) => {
    const [t] = await tx.select().from(tenants).where(eq(tenants.id, input.tenantId)).for('update');
    if (!t) throw new DomainError('NOT_FOUND', 'That tenant was not found.');
    if (t.suspendedAt) throw new DomainError('INVALID_STATE', `${t.name} is already suspended.`);
    await tx.update(tenants).set({ suspendedAt: sql`now()`, suspendReason: input.reason }).where(eq(tenants.id, t.id));
    await notifyConsoleAccess(tx, t.id);
    await recordAudit(tx, actor, { action: 'admin.tenants.suspend', tenantId: t.id, target: { type: 'tenant', id: t.id }, detail: { reason: input.reason } });
  });
  const running = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.tenantId, input.tenantId), inArray(instances.state, ['running', 'starting'])));
  for (const r of running) {
    await requestInstanceAction(db, actor, input.tenantId, r.id, 'stop', { message: `Stopped: the tenant was suspended (${input.reason}).`, onlyIfAllowed: true });
  }
  return { stopped: running.length };
}

export async function reactivateTenant(db: DbOrTx, actor: Actor, input: { tenantId: string }) {
  await db.transaction(async (tx) => {
    const [t] = await tx.select().from(tenants).where(and(eq(tenants.id, input.tenantId), isNotNull(tenants.suspendedAt))).for('update');
    if (!t) throw new DomainError('INVALID_STATE', 'That tenant is not suspended.');
    await tx.update(tenants).set({ suspendedAt: null, suspendReason: null }).where(eq(tenants.id, t.id));
    await recordAudit(tx, actor, { action: 'admin.tenants.reactivate', tenantId: t.id, target: { type: 'tenant', id: t.id } });
  });
}

/** Create a tenant on someone's behalf: the named user (who must have signed up) becomes its owner. */
export async function createTenantForUser(db: Db, actor: Actor, input: { name: string; ownerEmail: string }) {
  return db.transaction(async (tx) => {
    // Shared lock: an admin disabling this user at the same moment waits, or goes first and is seen.
    const [owner] = await tx.select({ id: users.id, disabledAt: users.disabledAt }).from(users).where(eq(users.email, input.ownerEmail)).for('share');
    if (!owner) throw new DomainError('NOT_FOUND', `No Cirrus user has the e-mail ${input.ownerEmail}. Ask them to sign up first.`, 'ownerEmail');
    if (owner.disabledAt) throw new DomainError('INVALID_STATE', `${input.ownerEmail} is disabled; enable them first or choose another owner.`, 'ownerEmail');
    return createTenantTx(tx, actor, input.name, owner.id, { action: 'admin.tenants.create' });
  });
}

/** One tenant as an admin sees it: its state, usage against quotas, and its members with their account status. */
export async function getTenantForAdmin(db: DbOrTx, tenantId: string) {
  const [tenant] = await db
    .select({ id: tenants.id, slug: tenants.slug, name: tenants.name, createdAt: tenants.createdAt, suspendedAt: tenants.suspendedAt, suspendReason: tenants.suspendReason })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  if (!tenant) throw new DomainError('NOT_FOUND', 'That tenant was not found.');
  const members = await db
    .select({ ...memberColumns, isAdmin: users.isAdmin, disabledAt: users.disabledAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.tenantId, tenantId))
    .orderBy(asc(users.email));
  return { ...tenant, members, usage: await tenantUsage(db, tenantId), limits: await tenantLimits(db, tenantId) };
}
