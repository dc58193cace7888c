import { generateKeyPairSync } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, keyPairs } from '../db/schema';
import { DomainError } from '../errors';
import { addRole, callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { generateEd25519 } from './generate';
import { getKeyPairForLaunch, KEY_PAIRS_PER_TENANT } from './key-pairs';
import { PRIVATE_KEY_SENTENCE } from './line';
import { wireString } from './parse';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

async function tenantWithOwner(name = 'Tenant') {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner, name);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

const edLine = (comment = 'alice@laptop') => generateEd25519(comment).publicKey.line;
const rsaLine = (bits: number) => {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  const mpint = (b64: string) => {
    const b = Buffer.from(b64, 'base64url');
    return wireString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  };
  return `ssh-rsa ${Buffer.concat([wireString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]).toString('base64')} bob@desk`;
};

/** Rows of every table in the database whose text contains `needle`. */
async function tablesContaining(needle: string): Promise<string[]> {
  const tables = await t.db.execute<{ name: string }>(sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
  const found: string[] = [];
  for (const { name } of tables.rows) {
    const hit = await t.db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(name)} x where x::text like ${`%${needle}%`}`);
    if (hit.rows[0]!.n > 0) found.push(name);
  }
  return found;
}

describe('key pairs', () => {
  it('imports a public key: stored normalised with its fingerprint, listed, audited', async () => {
    const { owner, tenant, api } = await tenantWithOwner();
    const { publicKey: parsed } = generateEd25519('alice@laptop');
    const made = await api.keyPairs.import({ tenantId: tenant.id, name: ' Laptop ', publicKey: `  ${parsed.line}\n` });
    expect(made).toMatchObject({ tenantId: tenant.id, name: 'Laptop', keyType: 'ed25519', bits: 256, publicKey: parsed.line, fingerprint: parsed.fingerprint, generated: false });
    const [row] = await t.db.select().from(keyPairs).where(eq(keyPairs.id, made.id));
    expect(row!.createdBy).toBe(owner.id);
    expect((await api.keyPairs.list({ tenantId: tenant.id })).items.map((k) => k.id)).toEqual([made.id]);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'key_pair.import'), eq(auditLog.targetId, made.id)));
    expect(audit).toEqual([
      expect.objectContaining({ tenantId: tenant.id, actorUserId: owner.id, outcome: 'success', detail: { name: 'Laptop', fingerprint: parsed.fingerprint, keyType: 'ed25519', bits: 256 } }),
    ]);
    // RSA too; the same key under another name is allowed (as in EC2).
    const rsa = rsaLine(2048);
    const desk = await api.keyPairs.import({ tenantId: tenant.id, name: 'desk', publicKey: rsa });
    expect(desk).toMatchObject({ keyType: 'rsa', bits: 2048, publicKey: rsa });
    await expect(api.keyPairs.import({ tenantId: tenant.id, name: 'desk-again', publicKey: rsa })).resolves.toMatchObject({ fingerprint: desk.fingerprint });
  });

  it('refuses bad keys beside the public key field, and keeps a pasted private key out of the audit log', async () => {
    const { tenant, api } = await tenantWithOwner();
    const weak = await refusal(api.keyPairs.import({ tenantId: tenant.id, name: 'old', publicKey: rsaLine(1024) }));
    expect(weak).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT', fieldErrors: { publicKey: [expect.stringMatching(/^RSA keys need at least 2048 bits; this one has 1024\./)] } });
    const { privateKey } = generateEd25519('secret');
    const pasted = await refusal(api.keyPairs.import({ tenantId: tenant.id, name: 'oops', publicKey: privateKey }));
    expect(pasted).toMatchObject({ reason: 'INVALID_INPUT', fieldErrors: { publicKey: [PRIVATE_KEY_SENTENCE] } });
    const failures = await t.db.select().from(auditLog).where(and(eq(auditLog.tenantId, tenant.id), eq(auditLog.action, 'keyPairs.import')));
    expect(failures).toHaveLength(2);
    expect(failures.every((f) => f.outcome === 'failure')).toBe(true);
    const body = privateKey.split('\n')[3]!;
    expect(await tablesContaining(body)).toEqual([]);
    expect(await t.db.select().from(keyPairs).where(eq(keyPairs.tenantId, tenant.id))).toEqual([]);
  });

  it('validates names: 1–63 characters, letters, digits, space and ._-, starting with a letter or digit', async () => {
    const { tenant, api } = await tenantWithOwner();
    const nameError = async (name: string) => (await refusal(api.keyPairs.generate({ tenantId: tenant.id, name }))).fieldErrors?.name?.[0];
    expect(await nameError('')).toBe('Give the key pair a name.');
    expect(await nameError('   ')).toBe('Give the key pair a name.');
    expect(await nameError('x'.repeat(64))).toBe('Key pair names are at most 63 characters.');
    expect(await nameError('-dash')).toBe('Use letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.');
    expect(await nameError('a/b')).toBe('Use letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.');
    await expect(api.keyPairs.generate({ tenantId: tenant.id, name: `Work laptop_2.old-${'x'.repeat(45)}` })).resolves.toBeTruthy();
  });

  it('refuses a taken name, whatever its case, beside the name field; another tenant may use it', async () => {
    const a = await tenantWithOwner('A');
    const b = await tenantWithOwner('B');
    await a.api.keyPairs.import({ tenantId: a.tenant.id, name: 'Laptop', publicKey: edLine() });
    const taken = await refusal(a.api.keyPairs.generate({ tenantId: a.tenant.id, name: 'laptop' }));
    expect(taken).toMatchObject({ code: 'CONFLICT', reason: 'CONFLICT', message: 'A key pair named “laptop” already exists.', fieldErrors: { name: ['A key pair named “laptop” already exists.'] } });
    await expect(a.api.keyPairs.import({ tenantId: a.tenant.id, name: 'LAPTOP', publicKey: edLine() })).rejects.toThrow('A key pair named “LAPTOP” already exists.');
    await expect(b.api.keyPairs.import({ tenantId: b.tenant.id, name: 'laptop', publicKey: edLine() })).resolves.toMatchObject({ name: 'laptop' });
    // Two at once under one name: one wins, the other hears why.
    const both = await Promise.allSettled([
      a.api.keyPairs.generate({ tenantId: a.tenant.id, name: 'race' }),
      a.api.keyPairs.generate({ tenantId: a.tenant.id, name: 'RACE' }),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { message: expect.stringMatching(/^A key pair named “(race|RACE)” already exists\.$/) } });
  });

  it('generates an ed25519 pair: the private key is in the response only, never in the database or the audit log', async () => {
    const { tenant, api } = await tenantWithOwner();
    const { keyPair, privateKey } = await api.keyPairs.generate({ tenantId: tenant.id, name: 'ci deploy' });
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(keyPair).toMatchObject({ name: 'ci deploy', keyType: 'ed25519', bits: 256, generated: true });
    expect(keyPair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+ ci deploy$/);
    expect(keyPair.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'key_pair.generate'), eq(auditLog.targetId, keyPair.id)));
    expect(audit!.detail).toEqual({ name: 'ci deploy', fingerprint: keyPair.fingerprint, keyType: 'ed25519', bits: 256 });
    const lines = privateKey.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(await tablesContaining(line), line).toEqual([]);
    expect(await tablesContaining('PRIVATE KEY')).toEqual([]);
    // The probe finds what is stored: the public half is in its row and the audit entry.
    expect((await tablesContaining(keyPair.fingerprint)).sort()).toEqual(['audit_log', 'key_pairs']);
  });

  it('lists newest first in keyset pages that hold under deletes, and refuses a bad cursor', async () => {
    const { tenant, api } = await tenantWithOwner();
    const made: string[] = [];
    for (let i = 0; i < 25; i++) made.push((await api.keyPairs.generate({ tenantId: tenant.id, name: `key-${i}` })).keyPair.id);
    const newestFirst = [...made].reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await api.keyPairs.list({ tenantId: tenant.id, cursor, limit: 10 });
      sizes.push(page.items.length);
      seen.push(...page.items.map((k) => k.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen).toEqual(newestFirst);
    // The default page is 20.
    expect((await api.keyPairs.list({ tenantId: tenant.id })).items).toHaveLength(20);
    // The row a cursor points at may be deleted: the next page still follows it.
    const first = await api.keyPairs.list({ tenantId: tenant.id, limit: 10 });
    await api.keyPairs.delete({ tenantId: tenant.id, keyPairId: first.items[9]!.id });
    const second = await api.keyPairs.list({ tenantId: tenant.id, limit: 10, cursor: first.nextCursor });
    expect(second.items.map((k) => k.id)).toEqual(newestFirst.slice(10, 20));
    const bad = await refusal(api.keyPairs.list({ tenantId: tenant.id, cursor: 'bm9wZQ' }));
    expect(bad).toMatchObject({ reason: 'INVALID_INPUT', fieldErrors: { cursor: ['That page link is not valid; start again from the first page.'] } });
  });

  it('scopes every procedure to the tenant: B cannot see, delete or launch with A’s key pairs', async () => {
    const a = await tenantWithOwner('A');
    const b = await tenantWithOwner('B');
    const mine = await a.api.keyPairs.import({ tenantId: a.tenant.id, name: 'shared-name', publicKey: edLine() });
    expect((await b.api.keyPairs.list({ tenantId: b.tenant.id })).items).toEqual([]);
    expect((await refusal(b.api.keyPairs.list({ tenantId: a.tenant.id }))).code).toBe('NOT_FOUND');
    expect(await refusal(b.api.keyPairs.delete({ tenantId: b.tenant.id, keyPairId: mine.id }))).toMatchObject({ code: 'NOT_FOUND', message: `Key pair ${mine.id} was not found.` });
    expect((await refusal(b.api.keyPairs.delete({ tenantId: a.tenant.id, keyPairId: mine.id }))).code).toBe('NOT_FOUND');
    await expect(getKeyPairForLaunch(t.db, b.tenant.id, mine.id)).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'keyPairId', message: 'That key pair does not exist.' });
    await expect(getKeyPairForLaunch(t.db, b.tenant.id, 'shared-name')).rejects.toBeInstanceOf(DomainError);
    expect(await t.db.select({ id: keyPairs.id }).from(keyPairs).where(eq(keyPairs.id, mine.id))).toHaveLength(1);
  });

  it('a viewer lists but cannot change; a member can', async () => {
    const { tenant, api } = await tenantWithOwner();
    const viewer = await makeUser(t.db);
    const member = await makeUser(t.db);
    await addRole(t.db, tenant, viewer, 'viewer');
    await addRole(t.db, tenant, member, 'member');
    const k = await api.keyPairs.import({ tenantId: tenant.id, name: 'k', publicKey: edLine() });
    expect((await callerAs(t.db, viewer).keyPairs.list({ tenantId: tenant.id })).items).toHaveLength(1);
    expect(await refusal(callerAs(t.db, viewer).keyPairs.delete({ tenantId: tenant.id, keyPairId: k.id }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal(callerAs(t.db, viewer).keyPairs.generate({ tenantId: tenant.id, name: 'v' }))).toMatchObject({ code: 'FORBIDDEN' });
    await expect(callerAs(t.db, member).keyPairs.delete({ tenantId: tenant.id, keyPairId: k.id })).resolves.toEqual({ id: k.id, name: 'k' });
  });

  it('deletes a key pair, audited; deleting it again is not found', async () => {
    const { tenant, api } = await tenantWithOwner();
    const k = await api.keyPairs.import({ tenantId: tenant.id, name: 'gone', publicKey: edLine() });
    await expect(api.keyPairs.delete({ tenantId: tenant.id, keyPairId: k.id })).resolves.toEqual({ id: k.id, name: 'gone' });
    expect((await api.keyPairs.list({ tenantId: tenant.id })).items).toEqual([]);
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'key_pair.delete'), eq(auditLog.targetId, k.id)));
    expect(audit).toMatchObject({ tenantId: tenant.id, outcome: 'success', detail: { name: 'gone', fingerprint: k.fingerprint } });
    expect((await refusal(api.keyPairs.delete({ tenantId: tenant.id, keyPairId: k.id }))).code).toBe('NOT_FOUND');
    // The name is free again.
    await expect(api.keyPairs.import({ tenantId: tenant.id, name: 'GONE', publicKey: edLine() })).resolves.toMatchObject({ name: 'GONE' });
  });

  it(`holds at most ${KEY_PAIRS_PER_TENANT} key pairs per tenant, also when two adds race for the last place`, async () => {
    const { tenant, api } = await tenantWithOwner();
    const line = edLine();
    await t.db.insert(keyPairs).values(
      Array.from({ length: KEY_PAIRS_PER_TENANT - 1 }, (_, i) => ({ tenantId: tenant.id, name: `bulk-${i}`, keyType: 'ed25519', bits: 256, publicKey: line, fingerprint: 'SHA256:x' })),
    );
    const race = await Promise.allSettled([
      api.keyPairs.generate({ tenantId: tenant.id, name: 'last-1' }),
      api.keyPairs.import({ tenantId: tenant.id, name: 'last-2', publicKey: line }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const full = await refusal(api.keyPairs.generate({ tenantId: tenant.id, name: 'one-more' }));
    expect(full).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      message: `This tenant already has ${KEY_PAIRS_PER_TENANT} key pairs, the most it can hold. Delete one it no longer uses to generate “one-more”.`,
      fieldErrors: null,
    });
    const [{ n }] = (await t.db.execute<{ n: number }>(sql`select count(*)::int as n from key_pairs where tenant_id = ${tenant.id}`)).rows as [{ n: number }];
    expect(n).toBe(KEY_PAIRS_PER_TENANT);
  });

  it('getKeyPairForLaunch finds a key pair by id or by name (any case) for the instance to copy', async () => {
    const { tenant, api } = await tenantWithOwner();
    const k = await api.keyPairs.import({ tenantId: tenant.id, name: 'Deploy', publicKey: edLine('deploy@ci') });
    const want = { id: k.id, name: 'Deploy', publicKey: k.publicKey, fingerprint: k.fingerprint, keyType: 'ed25519' };
    expect(await getKeyPairForLaunch(t.db, tenant.id, k.id)).toEqual(want);
    expect(await getKeyPairForLaunch(t.db, tenant.id, 'deploy')).toEqual(want);
    // A name that looks like an id still works when no key pair has that id.
    const uuidName = '6f0e5a51-3c57-4d5e-9c55-3f2f4b8e9a10';
    const odd = await api.keyPairs.import({ tenantId: tenant.id, name: uuidName, publicKey: edLine() });
    expect((await getKeyPairForLaunch(t.db, tenant.id, uuidName)).id).toBe(odd.id);
    for (const ref of ['nope', '', '00000000-0000-4000-8000-000000000000']) {
      await expect(getKeyPairForLaunch(t.db, tenant.id, ref)).rejects.toMatchObject({ name: 'DomainError', code: 'INVALID_INPUT', field: 'keyPairId', message: 'That key pair does not exist.' });
    }
  });
});
