import { eq, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { tenantQuotas, tenants } from '../db/schema';
import { DomainError } from '../errors';
import { tenantLimits } from '../quotas';
import { getSetting, setSetting, type QuotaLimits } from '../settings';

export const getDefaultQuotas = (db: DbOrTx) => getSetting(db, 'defaultQuotas');

/** Limits for tenants created from now on (existing tenants keep theirs). */
export async function setDefaultQuotas(db: DbOrTx, actor: Actor, limits: QuotaLimits) {
  await db.transaction(async (tx) => {
    // A tenant without a quota row follows the defaults; pin the current ones first so it keeps them.
    const old = await getSetting(tx, 'defaultQuotas');
    await tx.execute(sql`
      insert into ${tenantQuotas} (tenant_id, instances, vcpus, memory_mib, disk_gib, nics)
      select ${tenants.id}, ${old.instances}, ${old.vcpus}, ${old.memoryMiB}, ${old.diskGiB}, ${old.nics} from ${tenants}
      on conflict do nothing`);
    await setSetting(tx, actor, 'defaultQuotas', limits);
  });
}

/**
 * Override some of a tenant's limits. Lowering a limit below what the tenant
 * uses is allowed: it shows as over quota and blocks new launches only.
 */
export async function setTenantQuota(db: DbOrTx, actor: Actor, input: { tenantId: string; limits: Partial<QuotaLimits> }) {
  return db.transaction(async (tx) => {
    const [tenant] = await tx.select({ id: tenants.id, name: tenants.name }).from(tenants).where(eq(tenants.id, input.tenantId));
    if (!tenant) throw new DomainError('NOT_FOUND', 'That tenant was not found.');
    const current = await tenantLimits(tx, tenant.id);
    const next = { ...current, ...input.limits };
    await tx
      .insert(tenantQuotas)
      .values({ tenantId: tenant.id, ...next })
      .onConflictDoUpdate({ target: tenantQuotas.tenantId, set: { ...next, updatedAt: sql`now()` } });
    await recordAudit(tx, actor, { action: 'admin.quotas.set', tenantId: tenant.id, target: { type: 'tenant', id: tenant.id }, detail: { from: current, to: next } });
    return next;
  });
}
