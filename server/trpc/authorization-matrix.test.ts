import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../accounts/users';
import { createToken } from '../tokens';
import { addRole, callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import type { Role } from '../tenants/roles';
import type { TenantSummary } from '../tenants/tenants';
import { appRouter } from './root';

/**
 * Who may call each procedure. Every procedure of the app router must be
 * listed: a new procedure fails this test until someone decides its access.
 */
type Access = 'public' | 'authed' | 'admin' | { tenant: Role };
const matrix: Record<string, Access> = {
  'auth.signUpStatus': 'public',
  'auth.signUp': 'public',
  'me.get': 'authed',
  'tenants.list': 'authed',
  'tenants.create': 'authed',
  'tenants.members.list': { tenant: 'viewer' },
  'tenants.members.add': { tenant: 'owner' },
  'tenants.members.setRole': { tenant: 'owner' },
  'tenants.members.remove': { tenant: 'owner' },
  'tokens.list': 'authed',
  'tokens.create': 'authed',
  'tokens.revoke': 'authed',
  'accessKeys.list': { tenant: 'viewer' },
  'accessKeys.create': { tenant: 'viewer' },
  'accessKeys.revoke': { tenant: 'viewer' },
  'admin.settings.get': 'admin',
  'admin.settings.setSignupEnabled': 'admin',
  'images.list': { tenant: 'viewer' },
  'flavors.list': { tenant: 'viewer' },
  'images.own': { tenant: 'viewer' },
  'images.create': { tenant: 'member' },
  'images.delete': { tenant: 'member' },
  'quotas.get': { tenant: 'viewer' },
  'instances.launch': { tenant: 'member' },
  'instances.clone': { tenant: 'member' },
  'instances.resize': { tenant: 'member' },
  'instances.list': { tenant: 'viewer' },
  'instances.get': { tenant: 'viewer' },
  'instances.events': { tenant: 'viewer' },
  'instances.serialLog': { tenant: 'viewer' },
  'instances.guestInfo': { tenant: 'viewer' },
  'instances.metrics': { tenant: 'viewer' },
  'instances.start': { tenant: 'member' },
  'instances.stop': { tenant: 'member' },
  'instances.reboot': { tenant: 'member' },
  'instances.suspend': { tenant: 'member' },
  'instances.resume': { tenant: 'member' },
  'snapshots.list': { tenant: 'viewer' },
  'snapshots.create': { tenant: 'member' },
  'snapshots.restore': { tenant: 'member' },
  'snapshots.delete': { tenant: 'member' },
  'volumes.list': { tenant: 'viewer' },
  'volumes.get': { tenant: 'viewer' },
  'volumes.create': { tenant: 'member' },
  'volumes.attach': { tenant: 'member' },
  'volumes.detach': { tenant: 'member' },
  'volumes.delete': { tenant: 'member' },
  'instances.terminate': { tenant: 'member' },
  'instances.interfaces': { tenant: 'viewer' },
  'instances.setInterfaceRate': { tenant: 'member' },
  'networks.list': { tenant: 'viewer' },
  'networks.get': { tenant: 'viewer' },
  'networks.proposeCidr': { tenant: 'viewer' },
  'networks.create': { tenant: 'member' },
  'networks.delete': { tenant: 'member' },
  'portForwards.list': { tenant: 'viewer' },
  'portForwards.range': { tenant: 'viewer' },
  'portForwards.create': { tenant: 'member' },
  'portForwards.delete': { tenant: 'member' },
  'keyPairs.list': { tenant: 'viewer' },
  'keyPairs.import': { tenant: 'member' },
  'keyPairs.generate': { tenant: 'member' },
  'keyPairs.delete': { tenant: 'member' },
  'admin.networks.list': 'admin',
  'admin.networks.portRange': 'admin',
  'admin.networks.setPortRange': 'admin',
  'console.ticket': { tenant: 'member' },
  'billing.summary': { tenant: 'viewer' },
  'billing.invoice': { tenant: 'viewer' },
  'billing.ledger': { tenant: 'viewer' },
  'billing.estimate': { tenant: 'viewer' },
  'billing.budget.get': { tenant: 'viewer' },
  'billing.budget.set': { tenant: 'owner' },
  'admin.prices.list': 'admin',
  'admin.prices.set': 'admin',
  'admin.revenue.list': 'admin',
  'admin.users.list': 'admin',
  'admin.users.setAdmin': 'admin',
  'admin.users.disable': 'admin',
  'admin.hosts.list': 'admin',
  'admin.hosts.update': 'admin',
  'admin.hosts.setPlacement': 'admin',
  'admin.hosts.migrations': 'admin',
  'admin.hosts.evacuate': 'admin',
  'admin.instances.migrate': 'admin',
  'admin.instances.migrations': 'admin',
  'admin.instances.cancelMigration': 'admin',
  'admin.storage.list': 'admin',
  'admin.storage.volumes': 'admin',
  'admin.storage.update': 'admin',
  'admin.quotas.getDefaults': 'admin',
  'admin.quotas.setDefaults': 'admin',
  'admin.quotas.set': 'admin',
  'admin.tenants.list': 'admin',
  'admin.tenants.get': 'admin',
  'admin.tenants.create': 'admin',
  'admin.flavors.list': 'admin',
  'admin.flavors.create': 'admin',
  'admin.flavors.update': 'admin',
  'admin.flavors.delete': 'admin',
  'admin.images.list': 'admin',
  'admin.images.setEnabled': 'admin',
  'admin.tenants.suspend': 'admin',
  'admin.tenants.reactivate': 'admin',
  'admin.instances.list': 'admin',
  'admin.instances.stop': 'admin',
  'admin.instances.terminate': 'admin',
  'admin.quotaRequests.list': 'admin',
  'admin.images.setPublished': 'admin',
  'admin.quotaRequests.decide': 'admin',
  'quotaRequests.create': { tenant: 'owner' },
  'quotaRequests.list': { tenant: 'viewer' },
  'admin.audit.list': 'admin',
};

type AnyProcedure = { _def: { type: 'query' | 'mutation' | 'subscription' } };
const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
const paths = Object.keys(procedures).sort();

async function call(user: SessionUser | null, path: string, input: unknown): Promise<{ code: string | null }> {
  const caller = callerAs(t.db, user) as unknown as Record<string, unknown>;
  const fn = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (
    i: unknown,
  ) => Promise<unknown>;
  try {
    await fn(input);
    return { code: null };
  } catch (err) {
    if (err instanceof TRPCError) return { code: err.code };
    throw err;
  }
}

const REFUSALS = ['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND'];
const rank: Record<Role, number> = { viewer: 0, member: 1, owner: 2 };

let t: TestDatabase;
let tenantA: TenantSummary;
let ownerA: SessionUser, memberA: SessionUser, viewerA: SessionUser, outsider: SessionUser, admin: SessionUser;

beforeAll(async () => {
  t = await createTestDatabase();
  ownerA = await makeUser(t.db);
  memberA = await makeUser(t.db);
  viewerA = await makeUser(t.db);
  outsider = await makeUser(t.db);
  admin = await makeUser(t.db, { isAdmin: true });
  tenantA = await makeTenant(t.db, ownerA, 'Tenant A');
  await addRole(t.db, tenantA, memberA, 'member');
  await addRole(t.db, tenantA, viewerA, 'viewer');
  await makeTenant(t.db, outsider, 'Tenant B'); // the outsider owns another tenant
});
afterAll(() => t.close());

const inputFor = (path: string) => {
  const access = matrix[path];
  return typeof access === 'object' ? { tenantId: tenantA.id } : undefined;
};

describe('authorization matrix', () => {
  it('lists every procedure of the app router, and nothing else', () => {
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => !(p in matrix))).toEqual([]);
    expect(Object.keys(matrix).filter((p) => !(p in procedures))).toEqual([]);
  });

  it.each(paths.filter((p) => matrix[p] !== 'public'))('%s refuses anonymous callers', async (path) => {
    expect((await call(null, path, inputFor(path))).code).toBe('UNAUTHORIZED');
  });

  it.each(paths.filter((p) => typeof matrix[p] === 'object'))('%s refuses a member of another tenant', async (path) => {
    expect((await call(outsider, path, inputFor(path))).code).toBe('NOT_FOUND');
    // …and a platform admin who is not a member: admin rights act only through admin.*
    expect((await call(admin, path, inputFor(path))).code).toBe('NOT_FOUND');
    // …and a tenant id that does not exist at all, the same way (no probing).
    expect((await call(ownerA, path, { tenantId: '00000000-0000-4000-8000-000000000000' })).code).toBe('NOT_FOUND');
  });

  // A viewer's own access keys are the only tenant mutations a viewer makes (the ladder below checks them).
  it.each(paths.filter((p) => procedures[p]!._def.type === 'mutation' && typeof matrix[p] === 'object' && (matrix[p] as { tenant: Role }).tenant !== 'viewer'))(
    '%s refuses a viewer',
    async (path) => {
      expect((await call(viewerA, path, inputFor(path))).code).toBe('FORBIDDEN');
    },
  );

  it.each(paths.filter((p) => typeof matrix[p] === 'object'))('%s holds the role ladder in the matrix', async (path) => {
    const needed = (matrix[path] as { tenant: Role }).tenant;
    for (const [role, user] of [['viewer', viewerA], ['member', memberA], ['owner', ownerA]] as const) {
      const { code } = await call(user, path, inputFor(path));
      if (rank[role] >= rank[needed]) expect(REFUSALS, `${role} should pass authorization`).not.toContain(code);
      else expect(code, `${role} should be refused`).toBe('FORBIDDEN');
    }
  });

  it.each(paths.filter((p) => matrix[p] === 'admin'))('%s refuses non-admins and admits admins', async (path) => {
    for (const user of [ownerA, memberA, viewerA, outsider]) expect((await call(user, path, undefined)).code).toBe('FORBIDDEN');
    expect(REFUSALS).not.toContain((await call(admin, path, undefined)).code);
  });

  it.each(paths.filter((p) => matrix[p] === 'authed' || matrix[p] === 'public'))('%s admits a signed-in user', async (path) => {
    expect(REFUSALS).not.toContain((await call(outsider, path, undefined)).code);
  });

  it('user-scoped procedures act only on the caller’s own rows', async () => {
    const token = await createToken(t.db, { kind: 'user', userId: ownerA.id, email: ownerA.email, isAdmin: false, requestId: 't' }, { name: 'mine' });
    expect((await call(outsider, 'tokens.revoke', { id: token.id })).code).toBe('NOT_FOUND');
    const listed = (await callerAs(t.db, outsider).tokens.list()).map((x) => x.id);
    expect(listed).not.toContain(token.id);
  });
});
