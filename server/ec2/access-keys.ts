import crypto from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { accessKeys, memberships, tenants, users } from '../db/schema';
import { DomainError } from '../errors';
import { seal, unseal } from '../runtime/sealed';
import type { Role } from '../tenants/roles';

/** A user holds at most this many unrevoked keys in one tenant. */
export const MAX_ACCESS_KEYS = 10;

export const ACCESS_KEY_ID_PATTERN = /^AKCR[A-Z2-7]{16}$/;

export const accessKeyNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the key a name, like "terraform on ci".')
  .max(60, 'Key names are at most 60 characters.');

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const newAccessKeyId = () => 'AKCR' + Array.from(crypto.randomBytes(16), (b) => BASE32[b & 31]).join('');
/** 40 characters, as AWS's secrets are: 240 random bits. */
const newSecret = () => crypto.randomBytes(30).toString('base64');

const keyColumns = {
  id: accessKeys.id,
  accessKeyId: accessKeys.accessKeyId,
  name: accessKeys.name,
  createdAt: accessKeys.createdAt,
  lastUsedAt: accessKeys.lastUsedAt,
  revokedAt: accessKeys.revokedAt,
};

/** The caller's own keys in the tenant, newest first (revoked ones too, for the record). */
export async function listAccessKeys(db: DbOrTx, tenantId: string, userId: string) {
  return db
    .select(keyColumns)
    .from(accessKeys)
    .where(and(eq(accessKeys.tenantId, tenantId), eq(accessKeys.userId, userId)))
    .orderBy(desc(accessKeys.createdAt))
    .limit(200);
}

/** A new key; its secret is in the answer this once. */
export async function createAccessKey(db: DbOrTx, actor: Actor & { kind: 'user' }, tenantId: string, input: { name: string }) {
  return db.transaction(async (tx) => {
    // Serialises a user's creates in a tenant, so a burst cannot pass the limit.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('access-keys'), hashtext(${tenantId + actor.userId}))`);
    const [count] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(accessKeys)
      .where(and(eq(accessKeys.tenantId, tenantId), eq(accessKeys.userId, actor.userId), isNull(accessKeys.revokedAt)));
    if ((count?.n ?? 0) >= MAX_ACCESS_KEYS) {
      throw new DomainError('CONFLICT', `You already have ${MAX_ACCESS_KEYS} active access keys in this tenant: revoke one first.`);
    }
    const accessKeyId = newAccessKeyId();
    const secret = newSecret();
    const [row] = await tx
      .insert(accessKeys)
      .values({ accessKeyId, tenantId, userId: actor.userId, name: input.name, sealedSecret: seal(secret, accessKeyId) })
      .returning(keyColumns);
    if (!row) throw new Error('access key insert returned nothing');
    await recordAudit(tx, actor, { action: 'access-key.create', tenantId, target: { type: 'access-key', id: accessKeyId }, detail: { name: input.name } });
    return { ...row, secret };
  });
}

export async function revokeAccessKey(db: DbOrTx, actor: Actor & { kind: 'user' }, tenantId: string, input: { id: string }) {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(accessKeys)
      .set({ revokedAt: sql`coalesce(${accessKeys.revokedAt}, now())` })
      .where(and(eq(accessKeys.id, input.id), eq(accessKeys.tenantId, tenantId), eq(accessKeys.userId, actor.userId)))
      .returning(keyColumns);
    if (!row) throw new DomainError('NOT_FOUND', 'That access key was not found.');
    await recordAudit(tx, actor, { action: 'access-key.revoke', tenantId, target: { type: 'access-key', id: row.accessKeyId } });
    return row;
  });
}

/** What a signed request acts as: the key's user, in the key's tenant, with the role they have there now. */
export type KeyHolder = {
  secret: string;
  /** Marks the key used (to the minute): called once the signature has matched, never before. */
  markUsed: () => Promise<void>;
  user: { id: string; email: string; name: string; isAdmin: boolean };
  tenant: { id: string; slug: string; name: string; suspendedAt: Date | null; suspendReason: string | null };
  role: Role;
};

/**
 * The holder of an unrevoked key whose user is active and still a member of
 * its tenant, or null.
 */
export async function resolveAccessKey(db: DbOrTx, accessKeyId: string): Promise<KeyHolder | null> {
  if (!ACCESS_KEY_ID_PATTERN.test(accessKeyId)) return null;
  const [row] = await db
    .select({
      keyId: accessKeys.id,
      sealedSecret: accessKeys.sealedSecret,
      stale: sql<boolean>`${accessKeys.lastUsedAt} is null or ${accessKeys.lastUsedAt} < now() - interval '1 minute'`,
      user: { id: users.id, email: users.email, name: users.name, isAdmin: users.isAdmin },
      tenant: { id: tenants.id, slug: tenants.slug, name: tenants.name, suspendedAt: tenants.suspendedAt, suspendReason: tenants.suspendReason },
      role: memberships.role,
    })
    .from(accessKeys)
    .innerJoin(users, eq(users.id, accessKeys.userId))
    .innerJoin(tenants, eq(tenants.id, accessKeys.tenantId))
    .innerJoin(memberships, and(eq(memberships.tenantId, accessKeys.tenantId), eq(memberships.userId, accessKeys.userId)))
    .where(and(eq(accessKeys.accessKeyId, accessKeyId), isNull(accessKeys.revokedAt), isNull(users.disabledAt)));
  if (!row) return null;
  const secret = unseal(row.sealedSecret, accessKeyId);
  if (secret === null) {
    console.error(`[ec2] access key ${accessKeyId} does not open with this data dir's seal key`);
    return null;
  }
  const markUsed = async () => {
    if (row.stale) await db.update(accessKeys).set({ lastUsedAt: sql`now()` }).where(eq(accessKeys.id, row.keyId));
  };
  return { secret, markUsed, user: row.user, tenant: row.tenant, role: row.role };
}
