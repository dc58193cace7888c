import crypto from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { apiTokens, users } from '../db/schema';
import { DomainError } from '../errors';
import type { SessionUser } from '../accounts/users';
import { sessionUserColumns } from '../accounts/users';

/** Tokens look like `cirrus_<43 base64url chars>` (32 random bytes). */
const TOKEN_PREFIX = 'cirrus_';
const TOKEN_PATTERN = /^cirrus_[A-Za-z0-9_-]{43}$/;
const MAX_TOKENS_PER_USER = 50;

export const tokenNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the token a name, like "laptop CLI".')
  .max(60, 'Token name must be at most 60 characters.');

// A 256-bit random secret needs no slow hash: SHA-256 makes the stored value useless to a thief.
const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

const tokenColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

export async function listTokens(db: DbOrTx, userId: string) {
  return db.select(tokenColumns).from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.createdAt));
}

/** Create a token; the secret is returned this once and only its hash is stored. */
export async function createToken(db: DbOrTx, actor: Actor & { kind: 'user' }, input: { name: string }) {
  return db.transaction(async (tx) => {
    const [count] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(apiTokens)
      .where(and(eq(apiTokens.userId, actor.userId), isNull(apiTokens.revokedAt)));
    if ((count?.n ?? 0) >= MAX_TOKENS_PER_USER) {
      throw new DomainError('CONFLICT', `You already have ${MAX_TOKENS_PER_USER} active tokens: revoke one first.`);
    }
    const secret = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
    const [row] = await tx
      .insert(apiTokens)
      .values({ userId: actor.userId, name: input.name, tokenHash: hashToken(secret), prefix: secret.slice(0, 12) })
      .returning(tokenColumns);
    if (!row) throw new Error('token insert returned nothing');
    await recordAudit(tx, actor, { action: 'token.create', target: { type: 'token', id: row.id }, detail: { name: input.name } });
    return { ...row, secret };
  });
}

export async function revokeToken(db: DbOrTx, actor: Actor & { kind: 'user' }, input: { id: string }) {
  await db.transaction(async (tx) => {
    const rows = await tx
      .update(apiTokens)
      .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
      .where(and(eq(apiTokens.id, input.id), eq(apiTokens.userId, actor.userId)))
      .returning({ id: apiTokens.id });
    if (rows.length === 0) throw new DomainError('NOT_FOUND', 'That token was not found.');
    await recordAudit(tx, actor, { action: 'token.revoke', target: { type: 'token', id: input.id } });
  });
}

/**
 * The active user a bearer token belongs to, or null (unknown, malformed,
 * revoked, or the user is disabled). Marks the token as used, to the minute:
 * a script calling many times a second does not rewrite the row each time.
 */
export async function authenticateToken(db: DbOrTx, token: string): Promise<SessionUser | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select({
      ...sessionUserColumns,
      tokenId: apiTokens.id,
      stale: sql<boolean>`${apiTokens.lastUsedAt} is null or ${apiTokens.lastUsedAt} < now() - interval '1 minute'`,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt), isNull(users.disabledAt)));
  if (!row) return null;
  const { tokenId, stale, ...user } = row;
  if (stale) await db.update(apiTokens).set({ lastUsedAt: sql`now()` }).where(eq(apiTokens.id, tokenId));
  return user;
}
