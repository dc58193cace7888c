import crypto from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx, Tx } from '../db/client';
import { prebuilt } from '../db/named';
import { memberships, tenantQuotas, tenants } from '../db/schema';
import { DomainError } from '../errors';
import { ensureDefaultNetwork } from '../network/networks';
import { getSetting } from '../settings';
import type { Role } from './roles';
import { slugify } from './slug';

export const tenantNameSchema = z
  .string()
  .trim()
  .min(2, 'Tenant name must be at least 2 characters.')
  .max(60, 'Tenant name must be at most 60 characters.');

/** The columns of a tenant every caller may see. */
export const tenantColumns = { id: tenants.id, slug: tenants.slug, name: tenants.name, createdAt: tenants.createdAt };

const summaryColumns = {
  id: tenants.id,
  slug: tenants.slug,
  name: tenants.name,
  role: memberships.role,
  suspendedAt: tenants.suspendedAt,
  suspendReason: tenants.suspendReason,
};

export type TenantSummary = { id: string; slug: string; name: string; role: Role; suspendedAt: Date | null; suspendReason: string | null };

async function uniqueSlug(tx: Tx, name: string): Promise<string> {
  const base = slugify(name);
  for (let i = 0; i < 20; i++) {
    const candidate = i === 0 ? base : `${base.slice(0, 33)}-${crypto.randomBytes(3).toString('hex')}`;
    const [taken] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, candidate)).limit(1);
    if (!taken) return candidate;
  }
  throw new Error('could not find a free tenant slug');
}

/**
 * Create a tenant with `ownerUserId` as its owner, inside the caller's
 * transaction. It starts with the default quotas of this moment (a later
 * change of the defaults leaves it alone). The unique index on slug settles
 * races between creators.
 */
export async function createTenantTx(
  tx: Tx,
  actor: Actor,
  name: string,
  ownerUserId: string,
  audit: { action: string } = { action: 'tenant.create' },
): Promise<TenantSummary> {
  const slug = await uniqueSlug(tx, name);
  const [tenant] = await tx.insert(tenants).values({ slug, name }).returning(tenantColumns);
  if (!tenant) throw new Error('tenant insert returned nothing');
  await tx.insert(memberships).values({ tenantId: tenant.id, userId: ownerUserId, role: 'owner' });
  await tx.insert(tenantQuotas).values({ tenantId: tenant.id, ...(await getSetting(tx, 'defaultQuotas')) });
  // Every tenant starts with its default network (10.0.0.0/24), where NICs go unless told otherwise.
  await ensureDefaultNetwork(tx, tenant.id);
  await recordAudit(tx, actor, {
    action: audit.action,
    tenantId: tenant.id,
    target: { type: 'tenant', id: tenant.id },
    detail: { name, slug, owner: ownerUserId },
  });
  return { id: tenant.id, slug: tenant.slug, name: tenant.name, role: 'owner', suspendedAt: null, suspendReason: null };
}

export async function createTenant(db: DbOrTx, actor: Actor, input: { name: string }): Promise<TenantSummary> {
  if (actor.kind !== 'user') throw new DomainError('FORBIDDEN', 'Only a user can create a tenant.');
  return db.transaction((tx) => createTenantTx(tx, actor, input.name, actor.userId));
}

/** The tenants a user belongs to, with their role in each. */
export async function listTenantsForUser(db: DbOrTx, userId: string): Promise<TenantSummary[]> {
  return db
    .select(summaryColumns)
    .from(memberships)
    .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(sql`lower(${tenants.name})`), asc(tenants.slug));
}

/** The user's membership in a tenant, or null when they are not a member (or it does not exist). */
export async function findMembership(
  db: DbOrTx,
  userId: string,
  where: { tenantId: string } | { slug: string },
): Promise<TenantSummary | null> {
  const [row] = 'tenantId' in where ? await membershipById(db, { userId, tenantId: where.tenantId }) : await membershipBySlug(db, { userId, slug: where.slug });
  return row ?? null;
}

// Every tenant procedure asks it first: built once, a named statement.
const membership = (key: 'id' | 'slug') =>
  prebuilt(`membership-by-${key}`, (db) =>
    db
      .select(summaryColumns)
      .from(memberships)
      .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
      .where(and(eq(memberships.userId, sql.placeholder('userId')), key === 'id' ? eq(tenants.id, sql.placeholder('tenantId')) : eq(tenants.slug, sql.placeholder('slug'))))
      .limit(1),
  );
const membershipById = membership('id');
const membershipBySlug = membership('slug');
