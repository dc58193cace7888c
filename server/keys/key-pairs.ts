// A tenant's SSH key pairs (EC2's): the public half only. An imported key is
// the user's own; a generated one's private half is returned once, in the
// response that made it, and is never stored, logged or audited. Instances
// copy the public key at launch, so deleting a key pair changes no instance.
//
// 1. Reading · 2. Adding (import, generate) · 3. Deleting · 4. For a launch.
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx, Tx } from '../db/client';
import { violates } from '../db/pg-errors';
import { keyPairs } from '../db/schema';
import { DomainError } from '../errors';
import { generateEd25519 } from './generate';
import { parsePublicKey, type PublicKey } from './parse';
import { KEY_PAIRS_PAGE_DEFAULT, KEY_PAIRS_PAGE_MAX, type GenerateKeyPairInput, type ImportKeyPairInput, type ListKeyPairsInput } from './validation';

/** How many key pairs one tenant may hold. */
export const KEY_PAIRS_PER_TENANT = 100;

/** The columns of a key pair a tenant sees. */
export const keyPairColumns = {
  id: keyPairs.id,
  tenantId: keyPairs.tenantId,
  name: keyPairs.name,
  keyType: keyPairs.keyType,
  bits: keyPairs.bits,
  publicKey: keyPairs.publicKey,
  fingerprint: keyPairs.fingerprint,
  generated: keyPairs.generated,
  createdAt: keyPairs.createdAt,
};

/** Every key pair query starts here: one tenant's rows. */
export const keyPairsOf = (tenantId: string, ...conds: (SQL | undefined)[]) => and(eq(keyPairs.tenantId, tenantId), ...conds);

const sameName = (name: string) => sql`lower(${keyPairs.name}) = lower(${name})`;

// ---------------------------------------------------------------- 1. reading

// The cursor carries the last row's created_at as PostgreSQL prints it (with
// its microseconds, which a JavaScript Date would drop) and its id, so a page
// continues correctly even when that row has been deleted since.
const cursorAt = sql<string>`${keyPairs.createdAt}::text`;
const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');
const cursorShape = z.tuple([z.string().regex(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d){0,2}$/), z.uuid()]);

function decodeCursor(cursor: string): [string, string] {
  try {
    return cursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString()));
  } catch {
    throw new DomainError('INVALID_INPUT', 'That page link is not valid; start again from the first page.', 'cursor');
  }
}

export type KeyPair = Awaited<ReturnType<typeof listKeyPairs>>['items'][number];

/** A page of the tenant's key pairs, newest first. */
export async function listKeyPairs(db: DbOrTx, tenantId: string, input: ListKeyPairsInput = {}) {
  const limit = Math.min(Math.max(input.limit ?? KEY_PAIRS_PAGE_DEFAULT, 1), KEY_PAIRS_PAGE_MAX);
  const conds: SQL[] = [];
  if (input.cursor) {
    const [at, id] = decodeCursor(input.cursor);
    conds.push(sql`(${keyPairs.createdAt}, ${keyPairs.id}) < (${at}::timestamptz, ${id}::uuid)`);
  }
  const rows = await db
    .select({ ...keyPairColumns, cursorAt })
    .from(keyPairs)
    .where(keyPairsOf(tenantId, ...conds))
    .orderBy(desc(keyPairs.createdAt), desc(keyPairs.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(({ cursorAt: _at, ...row }) => row),
    nextCursor: rows.length > limit && last ? encodeCursor(last.cursorAt, last.id) : null,
  };
}

// ---------------------------------------------------------------- 2. adding

const nameTaken = (name: string) => new DomainError('CONFLICT', `A key pair named “${name}” already exists.`, 'name');

/** Insert a parsed key under the tenant's cap, audited, in one transaction. */
async function addKeyPair(db: DbOrTx, actor: Actor, tenantId: string, name: string, key: PublicKey, how: 'import' | 'generate') {
  try {
    return await db.transaction(async (tx: Tx) => {
      // One add at a time per tenant, so two at the cap cannot both pass the count.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`key_pairs:${tenantId}`}, 0))`);
      const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(keyPairs).where(keyPairsOf(tenantId));
      if ((held?.n ?? 0) >= KEY_PAIRS_PER_TENANT) {
        throw new DomainError(
          'QUOTA_EXCEEDED',
          `This tenant already has ${KEY_PAIRS_PER_TENANT} key pairs, the most it can hold. Delete one it no longer uses to ${how} “${name}”.`,
        );
      }
      const [taken] = await tx.select({ id: keyPairs.id }).from(keyPairs).where(keyPairsOf(tenantId, sameName(name)));
      if (taken) throw nameTaken(name);
      const [row] = await tx
        .insert(keyPairs)
        .values({
          tenantId,
          name,
          keyType: key.keyType,
          bits: key.bits,
          publicKey: key.line,
          fingerprint: key.fingerprint,
          generated: how === 'generate',
          createdBy: actor.kind === 'user' ? actor.userId : null,
        })
        .returning(keyPairColumns);
      await recordAudit(tx, actor, {
        action: `key_pair.${how}`,
        tenantId,
        target: { type: 'key_pair', id: row!.id },
        detail: { name, fingerprint: key.fingerprint, keyType: key.keyType, bits: key.bits },
      });
      return row!;
    });
  } catch (err) {
    // The lock makes this unreachable for adds through here; the unique index is the rule itself.
    if (violates(err, 'key_pairs_tenant_name_key')) throw nameTaken(name);
    throw err;
  }
}

/** Import the user's own public key. The same key may be imported under several names (EC2 allows it). */
export async function importKeyPair(db: DbOrTx, actor: Actor, tenantId: string, input: ImportKeyPairInput) {
  const parsed = parsePublicKey(input.publicKey);
  if (!parsed.ok) throw new DomainError('INVALID_INPUT', parsed.message, 'publicKey');
  return addKeyPair(db, actor, tenantId, input.name, parsed.key, 'import');
}

/**
 * Generate an ed25519 key pair. The private key is in this return value only:
 * the caller hands it to the user once and keeps no copy.
 */
export async function generateKeyPair(db: DbOrTx, actor: Actor, tenantId: string, input: GenerateKeyPairInput) {
  const { publicKey, privateKey } = generateEd25519(input.name);
  const keyPair = await addKeyPair(db, actor, tenantId, input.name, publicKey, 'generate');
  return { keyPair, privateKey };
}

// ---------------------------------------------------------------- 3. deleting

/** Delete a key pair. Instances launched with it keep their copy of the key. */
export async function deleteKeyPair(db: DbOrTx, actor: Actor, tenantId: string, keyPairId: string) {
  return db.transaction(async (tx) => {
    const [gone] = await tx
      .delete(keyPairs)
      .where(keyPairsOf(tenantId, eq(keyPairs.id, keyPairId)))
      .returning({ id: keyPairs.id, name: keyPairs.name, fingerprint: keyPairs.fingerprint });
    if (!gone) throw new DomainError('NOT_FOUND', `Key pair ${keyPairId} was not found.`);
    await recordAudit(tx, actor, {
      action: 'key_pair.delete',
      tenantId,
      target: { type: 'key_pair', id: gone.id },
      detail: { name: gone.name, fingerprint: gone.fingerprint },
    });
    return { id: gone.id, name: gone.name };
  });
}

// ---------------------------------------------------------------- 4. for a launch

const isUuid = (s: string) => z.uuid().safeParse(s).success;

/**
 * The key pair a launch names, by id or by name (case-insensitive), for the
 * instance to copy; refused beside the launch form's `keyPairId` field.
 */
export async function getKeyPairForLaunch(db: DbOrTx, tenantId: string, keyPairIdOrName: string) {
  const ref = keyPairIdOrName.trim();
  const columns = { id: keyPairs.id, name: keyPairs.name, publicKey: keyPairs.publicKey, fingerprint: keyPairs.fingerprint, keyType: keyPairs.keyType };
  // A uuid-shaped string is looked up as an id first (a name may look like one, too).
  const [byId] = isUuid(ref) ? await db.select(columns).from(keyPairs).where(keyPairsOf(tenantId, eq(keyPairs.id, ref))) : [];
  const [row] = byId ? [byId] : ref ? await db.select(columns).from(keyPairs).where(keyPairsOf(tenantId, sameName(ref))) : [];
  if (!row) throw new DomainError('INVALID_INPUT', 'That key pair does not exist.', 'keyPairId');
  return row;
}
