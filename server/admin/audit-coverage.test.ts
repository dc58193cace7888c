import { and, eq, gt, max } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../accounts/users';
import { auditLog, flavors, images } from '../db/schema';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { appRouter } from '../trpc/root';

/**
 * Every admin mutation leaves an audit row naming the admin and its target.
 * Each mutation of `admin.*` needs a case here: a new one fails this test
 * until it says how to call it and what it acts on.
 */
type Case = () => Promise<{ input: unknown; target: string | ((result: unknown) => string) }>;

let t: TestDatabase;
let admin: SessionUser;
let owner: SessionUser;
let compute: Awaited<ReturnType<typeof setUpCompute>>;

const tenantOf = async (name: string) => (await makeTenant(t.db, owner, name)).id;
async function runningInstance() {
  const tenantId = await tenantOf('With an instance');
  const vm = await callerAs(t.db, owner).instances.launch({ tenantId, ...tiny });
  await drainJobs(t.db, t.url, compute.hostId, compute.driver);
  return vm.id;
}
async function flavorId() {
  const [f] = await t.db.insert(flavors).values({ name: `f-${crypto.randomUUID().slice(0, 8)}`, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 }).returning();
  return f!.id;
}
const idOf = (r: unknown) => (r as { id: string }).id;

const cases: Record<string, Case> = {
  'admin.settings.setSignupEnabled': async () => ({ input: { enabled: true }, target: 'signupEnabled' }),
  'admin.networks.setPortRange': async () => ({ input: { from: 30_000, to: 30_999 }, target: 'portForwardRange' }),
  'admin.prices.set': async () => ({
    input: { currency: 'USD', vcpuHour: 10_000, memoryGiBHour: 5_000, diskGiBHour: 100, nicHour: 1_000, bandwidthMbitHour: 40, portForwardHour: 5_000, savedStateGiBHour: 137, snapshotGiBHour: 68, imageGiBHour: 68, volumeGiBHour: 110, volumeIopsHour: 7, volumeMbpsHour: 55 },
    target: idOf,
  }),
  'admin.users.setAdmin': async () => {
    const u = await makeUser(t.db);
    return { input: { userId: u.id, isAdmin: true }, target: u.id };
  },
  'admin.users.disable': async () => {
    const u = await makeUser(t.db);
    return { input: { userId: u.id }, target: u.id };
  },
  'admin.hosts.update': async () => ({ input: { hostId: compute.hostId, cpuRatioPct: 200 }, target: compute.hostId }),
  'admin.hosts.setPlacement': async () => ({ input: { strategy: 'pack' }, target: 'placementStrategy' }),
  'admin.storage.update': async () => ({ input: { poolId: compute.poolId, capacityGiB: 5000 }, target: compute.poolId }),
  'admin.quotas.setDefaults': async () => ({ input: { instances: 5, vcpus: 8, memoryMiB: 8192, diskGiB: 100, nics: 10, networks: 3, bandwidthMbit: 500, portForwards: 2, savedStateMiB: 4096, snapshots: 5, snapshotGiB: 50, volumes: 4, volumeGiB: 40 }, target: 'defaultQuotas' }),
  'admin.quotas.set': async () => {
    const tenantId = await tenantOf('Quota');
    return { input: { tenantId, limits: { vcpus: 3 } }, target: tenantId };
  },
  'admin.tenants.create': async () => ({ input: { name: 'Made by an admin', ownerEmail: owner.email }, target: idOf }),
  'admin.tenants.suspend': async () => {
    const tenantId = await tenantOf('To suspend');
    return { input: { tenantId, reason: 'unpaid invoices' }, target: tenantId };
  },
  'admin.tenants.reactivate': async () => {
    const tenantId = await tenantOf('To reactivate');
    await callerAs(t.db, admin).admin.tenants.suspend({ tenantId, reason: 'testing' });
    return { input: { tenantId }, target: tenantId };
  },
  'admin.instances.stop': async () => {
    const instanceId = await runningInstance();
    return { input: { instanceId }, target: instanceId };
  },
  'admin.instances.terminate': async () => {
    const instanceId = await runningInstance();
    return { input: { instanceId }, target: instanceId };
  },
  'admin.hosts.evacuate': async () => {
    const spare = await setUpCompute(t.db);
    return { input: { hostId: spare.hostId }, target: spare.hostId };
  },
  'admin.instances.migrate': async () => {
    const instanceId = await runningInstance();
    const other = await setUpCompute(t.db); // somewhere to move to
    return { input: { instanceId, targetHostId: other.hostId }, target: instanceId };
  },
  'admin.instances.cancelMigration': async () => {
    const instanceId = await runningInstance();
    const other = await setUpCompute(t.db);
    const move = await callerAs(t.db, admin).admin.instances.migrate({ instanceId, targetHostId: other.hostId });
    return { input: { migrationId: move.id }, target: instanceId };
  },
  'admin.quotaRequests.decide': async () => {
    const tenantId = await tenantOf('Asking');
    const req = await callerAs(t.db, owner).quotaRequests.create({ tenantId, resource: 'vcpus', limit: 64, reason: 'A bigger build farm for CI.' });
    return { input: { id: req.id, approve: true, comment: 'ok' }, target: req.id };
  },
  'admin.flavors.create': async () => ({ input: { name: 'xl-audit', vcpus: 8, memoryMiB: 8192, diskGiB: 20, nics: 2 }, target: idOf }),
  'admin.flavors.update': async () => {
    const id = await flavorId();
    return { input: { flavorId: id, enabled: false }, target: id };
  },
  'admin.flavors.delete': async () => {
    const id = await flavorId();
    return { input: { flavorId: id }, target: id };
  },
  'admin.images.setEnabled': async () => {
    await t.db.insert(images).values({ id: 'retired-image', name: 'Retired', minMemoryMiB: 64, minDiskGiB: 1 });
    return { input: { imageId: 'retired-image', enabled: false }, target: 'retired-image' };
  },
  'admin.images.setPublished': async () => {
    const id = 'ami-0123456789abcdef0';
    await t.db.insert(images).values({ id, name: 'A tenant’s', minMemoryMiB: 64, minDiskGiB: 1, captured: true });
    return { input: { imageId: id, published: true }, target: id };
  },
};

type AnyProcedure = { _def: { type: string } };
const adminMutations = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
  .filter(([path, p]) => path.startsWith('admin.') && p._def.type === 'mutation')
  .map(([path]) => path)
  .sort();

beforeAll(async () => {
  t = await createTestDatabase();
  compute = await setUpCompute(t.db);
  admin = await makeUser(t.db, { isAdmin: true });
  owner = await makeUser(t.db);
});
afterAll(() => t.close());

describe('every admin mutation is audited with actor and target', () => {
  it('has a case for each admin mutation, and none for anything else', () => {
    expect(adminMutations.length).toBeGreaterThan(15);
    expect(adminMutations.filter((p) => !(p in cases))).toEqual([]);
    expect(Object.keys(cases).filter((p) => !adminMutations.includes(p))).toEqual([]);
  });

  it.each(adminMutations)('%s', async (path) => {
    const { input, target } = await cases[path]!();
    const [mark] = await t.db.select({ id: max(auditLog.id) }).from(auditLog);
    const fn = path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], callerAs(t.db, admin)) as (i: unknown) => Promise<unknown>;
    const result = await fn(input);
    const targetId = typeof target === 'function' ? target(result) : target;
    const rows = await t.db
      .select()
      .from(auditLog)
      .where(and(gt(auditLog.id, mark?.id ?? 0n), eq(auditLog.actorUserId, admin.id), eq(auditLog.targetId, targetId)));
    expect(rows, `no audit row by the admin for ${targetId}`).not.toHaveLength(0);
    expect(rows[0]).toMatchObject({ actorLabel: admin.email, outcome: 'success', targetId });
    expect(rows[0]!.targetType).toBeTruthy();
  });
});
