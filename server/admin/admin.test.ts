import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditLog, hosts } from '../db/schema';
import { setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ hostId } = await setUpCompute(t.db, { cpus: 4, memoryMiB: 8192 }));
  vi.stubEnv('DATABASE_URL', t.url);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  const { closeDb } = await import('../db/client');
  await closeDb();
  await t.close();
});

async function httpMe(token: string) {
  const { createContext } = await import('../trpc/context');
  const { appRouter } = await import('../trpc/root');
  const req = new Request('http://localhost/api/trpc/me.get', { headers: { authorization: `Bearer ${token}` } });
  return (await fetchRequestHandler({ endpoint: '/api/trpc', req, router: appRouter, createContext: () => createContext(req) })).status;
}

const audited = async (action: string, targetId: string) =>
  (await t.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)))).length;

describe('admin: users', () => {
  it('disabling a user stops their API token at once; enabling brings it back; both audited', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    const user = await makeUser(t.db);
    const { secret } = await callerAs(t.db, user).tokens.create({ name: 'cli' });
    expect(await httpMe(secret)).toBe(200);
    await callerAs(t.db, admin).admin.users.disable({ userId: user.id });
    expect(await httpMe(secret)).toBe(401);
    await callerAs(t.db, admin).admin.users.disable({ userId: user.id, disabled: false });
    expect(await httpMe(secret)).toBe(200);
    expect(await audited('admin.users.disable', user.id)).toBe(1);
    expect(await audited('admin.users.enable', user.id)).toBe(1);
  });

  it('makes and revokes admins, but never the last one, and no one disables themselves', async () => {
    const onlyAdminDb = await createTestDatabase();
    try {
      const a = await makeUser(onlyAdminDb.db, { isAdmin: true });
      const b = await makeUser(onlyAdminDb.db);
      const api = callerAs(onlyAdminDb.db, a).admin.users;
      await expect(api.setAdmin({ userId: a.id, isAdmin: false })).rejects.toThrow(/last active administrator/);
      await expect(api.disable({ userId: a.id })).rejects.toThrow(/cannot disable your own account/);
      await api.setAdmin({ userId: b.id, isAdmin: true });
      await api.setAdmin({ userId: a.id, isAdmin: false });
      const listed = await callerAs(onlyAdminDb.db, { ...b, isAdmin: true }).admin.users.list({ search: a.email.slice(0, 10) });
      expect(listed.items.find((u) => u.id === a.id)?.isAdmin).toBe(false);
      // a is no longer an admin: refused.
      await expect(callerAs(onlyAdminDb.db, { ...a, isAdmin: false }).admin.users.list({})).rejects.toThrow(/Only platform administrators/);
    } finally {
      await onlyAdminDb.close();
    }
  });

  it('lists and searches users with paging', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    for (let i = 0; i < 5; i++) await makeUser(t.db, { email: `paged-${i}@search.test` });
    const first = await callerAs(t.db, admin).admin.users.list({ search: '@search.test', limit: 3 });
    expect(first.items).toHaveLength(3);
    const second = await callerAs(t.db, admin).admin.users.list({ search: '@search.test', limit: 3, cursor: first.nextCursor });
    expect([...first.items, ...second.items].map((u) => u.email)).toEqual([0, 1, 2, 3, 4].map((i) => `paged-${i}@search.test`));
    expect(second.nextCursor).toBeNull();
  });
});

describe('admin: quotas and hosts', () => {
  it('a limit lowered below usage shows as over quota and blocks new launches only', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    await callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny, vcpus: 2 });
    await callerAs(t.db, admin).admin.quotas.set({ tenantId: tenant.id, limits: { vcpus: 1 } });
    const q = await callerAs(t.db, owner).quotas.get({ tenantId: tenant.id });
    expect(q.find((r) => r.resource === 'vcpus')).toMatchObject({ used: 2, limit: 1 });
    await expect(callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/vCPUs quota exceeded/);
    expect(await audited('admin.quotas.set', tenant.id)).toBe(1);
  });

  it('new tenants start with the default quotas an admin set', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    const defaults = { instances: 3, vcpus: 6, memoryMiB: 4096, diskGiB: 50, nics: 6, networks: 2, bandwidthMbit: 300, portForwards: 1, savedStateMiB: 2048, snapshots: 4, snapshotGiB: 20, volumes: 3, volumeGiB: 30 };
    await callerAs(t.db, admin).admin.quotas.setDefaults(defaults);
    expect(await callerAs(t.db, admin).admin.quotas.getDefaults()).toEqual(defaults);
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const q = await callerAs(t.db, owner).quotas.get({ tenantId: tenant.id });
    expect(Object.fromEntries(q.map((r) => [r.resource, r.limit]))).toEqual(defaults);
  });

  it('hosts show capacity, allocation and liveness; maintenance stops placements and ratios change capacity', async () => {
    const admin = await makeUser(t.db, { isAdmin: true });
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, admin).admin.hosts;
    const before = (await api.list()).find((h) => h.id === hostId)!;
    expect(before).toMatchObject({ alive: true, acceleration: 'tcg', capacity: { vcpus: 16 } });
    await api.update({ hostId, state: 'maintenance' });
    await expect(callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/No host is accepting/);
    await api.update({ hostId, state: 'enabled', cpuRatioPct: 100 });
    expect((await api.list()).find((h) => h.id === hostId)!.capacity.vcpus).toBe(4);
    await expect(api.update({ hostId, cpuRatioPct: 1 })).rejects.toThrow(/at least 0.1/);
    expect((await t.db.select().from(hosts).where(eq(hosts.id, hostId)))[0]!.state).toBe('enabled');
    expect(await audited('admin.hosts.update', hostId)).toBe(2);
  });
});
