// The OpenAPI document generated from the router validates, and requests
// built from it (not from knowledge of tRPC) succeed through the REST API.
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeDb } from '../db/client';
import { setUpCompute, TEST_IMAGE } from '../test/compute';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { makeTenant, makeUser } from '../test/factories';
import { createToken } from '../tokens';
import { appRouter } from '../trpc/root';
import { openApiDocument } from './document';
import { handleRest } from './rest';

type Doc = ReturnType<typeof openApiDocument>;
type Op = { operationId: string; parameters?: { name: string; in: string; required: boolean; schema?: { type?: unknown }; content?: unknown }[]; requestBody?: { content: { 'application/json': { schema: { required?: string[]; properties: Record<string, unknown> } } } } };

let t: TestDatabase;
let token: string;
let tenantId: string;
let otherTenantId: string;
let doc: Doc;
const ORIGIN = 'http://cirrus.test';

beforeAll(async () => {
  t = await createTestDatabase();
  vi.stubEnv('DATABASE_URL', t.url); // the REST handler reaches the database as route handlers do
  await setUpCompute(t.db);
  const owner = await makeUser(t.db);
  tenantId = (await makeTenant(t.db, owner, 'REST')).id;
  otherTenantId = (await makeTenant(t.db, await makeUser(t.db), 'Not theirs')).id;
  token = (await createToken(t.db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 'rest' })).secret;
  doc = openApiDocument(ORIGIN);
});
afterAll(async () => {
  await closeDb();
  vi.unstubAllEnvs();
  await t.close();
});

const opAt = (path: string, method: 'get' | 'post') => (doc.paths[path] as Record<string, Op>)[method]!;
const call = (url: string, init: RequestInit = {}) =>
  handleRest(new Request(url, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } })).then(async (r) => ({ status: r.status, body: await r.json() }));

/** A GET's URL from its operation: each parameter given a value, scalar or JSON as the document says. */
function urlFor(path: string, values: Record<string, unknown>): string {
  const url = new URL(doc.servers[0]!.url + path);
  for (const p of opAt(path, 'get').parameters ?? []) {
    if (!(p.name in values)) {
      expect(p.required, `${p.name} is required`).toBe(false);
      continue;
    }
    url.searchParams.set(p.name, p.content ? JSON.stringify(values[p.name]) : String(values[p.name]));
  }
  return url.toString();
}

describe('OpenAPI', () => {
  it('is a valid OpenAPI 3.1 document with every query and mutation of the router', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const procedures = Object.keys(appRouter._def.procedures).sort();
    const documented = Object.values(doc.paths).flatMap((item) => Object.values(item as Record<string, Op>).map((o) => o.operationId)).sort();
    expect(documented).toEqual(procedures);
    expect(opAt('/api/v1/instances/launch', 'post').requestBody!.content['application/json'].schema.required).toEqual(expect.arrayContaining(['tenantId', 'name', 'imageId', 'vcpus']));
    expect(opAt('/api/v1/instances/list', 'get').parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'tenantId', required: true }),
        expect.objectContaining({ name: 'limit', required: false, schema: expect.objectContaining({ type: 'integer' }) }),
        expect.objectContaining({ name: 'states', content: expect.anything() }),
      ]),
    );
  });

  it('takes a launch and a list built from the document, with an API token', async () => {
    const launch = opAt('/api/v1/instances/launch', 'post');
    const body = { tenantId, name: 'from-openapi', imageId: TEST_IMAGE, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, tags: { via: 'rest' } };
    for (const field of launch.requestBody!.content['application/json'].schema.required ?? []) expect(body).toHaveProperty(field);
    const made = await call(`${doc.servers[0]!.url}/api/v1/instances/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ name: 'from-openapi', state: 'pending', tags: { via: 'rest' } });
    expect(made.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const listed = await call(urlFor('/api/v1/instances/list', { tenantId, limit: 5, states: ['pending'], includeTerminated: false }));
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([made.body.id]);
    const one = await call(urlFor('/api/v1/instances/get', { tenantId, instanceId: made.body.id }));
    expect(one.body).toMatchObject({ id: made.body.id, name: 'from-openapi' });
    expect((await call(urlFor('/api/v1/me/get', {}))).status).toBe(200);
  });

  it('answers every refusal as JSON with its code and reason, never a 500', async () => {
    // (Without any Authorization header the session cookie is read, which needs a Next request scope: the real server's test covers it.)
    const anon = await handleRest(new Request(urlFor('/api/v1/instances/list', { tenantId }), { headers: { authorization: 'Bearer cirrus_revoked-or-made-up' } }));
    expect([anon.status, (await anon.json()).error.code]).toEqual([401, 'UNAUTHORIZED']);
    const bad = await call(urlFor('/api/v1/instances/list', { tenantId, limit: 0 }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.fieldErrors).toHaveProperty('limit');
    expect((await call(urlFor('/api/v1/instances/list', { tenantId: otherTenantId }))).status).toBe(404);
    expect((await call(`${ORIGIN}/api/v1/instances/launch`)).status).toBe(405);
    expect((await call(`${ORIGIN}/api/v1/instances/teleport`)).status).toBe(404);
    expect((await call(`${ORIGIN}/api/v1/instances/list?tenantId=${tenantId}&colour=blue`)).status).toBe(400);
    const junk = await call(`${ORIGIN}/api/v1/instances/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect([junk.status, junk.body.error.code]).toEqual([400, 'BAD_REQUEST']);
    const over = await call(`${ORIGIN}/api/v1/instances/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenantId, name: 'big', imageId: TEST_IMAGE, vcpus: 1000, memoryMiB: 128, diskGiB: 1, nics: 1 }) });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/vCPUs/);
  });
});
