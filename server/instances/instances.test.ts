import { TRPCError } from '@trpc/server';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, hosts, images, instances } from '../db/schema';
import { heartbeat, markHostOffline, placementTransaction } from '../hosts';
import type { FakeHypervisor } from '../hypervisor';
import { lockTenantQuota, tenantUsage } from '../quotas';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { addRole, callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { admitInstance } from './launch';
import { runInstanceOp } from './ops';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function tenantWithOwner() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof TRPCError ? (e.cause as { code?: string } | undefined)?.code ?? e.code : Promise.reject(e)),
  );

describe('instances', () => {
  it('launch → pending with an event, an audit record and a job; the job makes it running with the exact spec', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'web 1', vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2, tags: { env: 'test' } });
    expect(inst.id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(inst.state).toBe('pending');
    expect(inst.hostId).toBe(hostId);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'instance.launch'), eq(auditLog.targetId, inst.id)));
    expect(audit).toHaveLength(1);
    await drain();
    const after = await api.instances.get({ tenantId: tenant.id, instanceId: inst.id });
    expect(after.state).toBe('running');
    expect(after.launchedAt).toBeInstanceOf(Date);
    expect((await driver.status(inst.id)).state).toBe('running');
    const events = await api.instances.events({ tenantId: tenant.id, instanceId: inst.id });
    expect(events.map((e) => e.toState).reverse()).toEqual(['pending', 'starting', 'running']);
  });

  it('refuses past a quota with a sentence naming resource, request, usage and limit — and writes nothing', async () => {
    const { tenant, api } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, { instances: 2, vcpus: 3 });
    await api.instances.launch({ tenantId: tenant.id, ...tiny });
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny, vcpus: 4 })).rejects.toThrow(
      'vCPUs quota exceeded: this launch needs 4, the tenant uses 1 of its 3 limit, so 2 are left.',
    );
    await api.instances.launch({ tenantId: tenant.id, ...tiny });
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(
      'Instances quota exceeded: this launch needs 1, the tenant uses 2 of its 2 limit, so 0 are left.',
    );
    expect((await t.db.select().from(instances).where(eq(instances.tenantId, tenant.id))).length).toBe(2);
    const q = await api.quotas.get({ tenantId: tenant.id });
    expect(q.find((r) => r.resource === 'instances')).toMatchObject({ used: 2, limit: 2 });
  });

  it.each([
    ['instances', { instances: 5 }, tiny, 5],
    ['vcpus', { vcpus: 8 }, { ...tiny, vcpus: 2 }, 4],
    ['memory', { memoryMiB: 1000 }, { ...tiny, memoryMiB: 300 }, 3],
  ] as const)('holds the %s limit under 50 concurrent launches', async (_name, limit, spec, expected) => {
    const { tenant, owner } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, limit);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => codeOf(callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...spec, name: `burst-${i}` }))),
    );
    expect(results.filter((r) => r === null)).toHaveLength(expected);
    expect(results.filter((r) => r === 'QUOTA_EXCEEDED')).toHaveLength(50 - expected);
    const rows = await t.db.select().from(instances).where(eq(instances.tenantId, tenant.id));
    const usage = await tenantUsage(t.db, tenant.id);
    expect(usage).toEqual({
      instances: rows.length,
      vcpus: rows.reduce((a, r) => a + r.vcpus, 0),
      memoryMiB: rows.reduce((a, r) => a + r.memoryMiB, 0),
      diskGiB: rows.reduce((a, r) => a + r.diskGiB, 0),
      nics: rows.reduce((a, r) => a + r.nics, 0),
      networks: 1, // the default one, made with the tenant
      bandwidthMbit: rows.reduce((a, r) => a + r.nics * 100, 0), // every NIC at the default rate
      portForwards: 0,
      savedStateMiB: 0,
      snapshots: 0,
      snapshotGiB: 0,
      volumes: 0,
      volumeGiB: 0,
    });
  });

  it('a launch without tags has {} (the column default), and admitInstance refuses values that leave a column out', async () => {
    const { owner, tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'untagged' });
    expect((await t.db.execute<{ tags: unknown }>(sql`select tags from instances where id = ${inst.id}`)).rows[0]!.tags).toEqual({});
    const actor = { kind: 'user' as const, userId: owner.id, email: owner.email, isAdmin: false, requestId: 'admit' };
    const { tags: _left, ...withoutTags } = {
      name: 'no-tags',
      imageId: tiny.imageId,
      vcpus: 1,
      memoryMiB: 128,
      diskGiB: 1,
      nics: 1,
      tags: {},
      keyName: null,
      sshPublicKey: null,
      userData: null,
      maxVcpus: null,
      maxMemoryMiB: null,
      cloneOfInstanceId: null,
      cloneOfSnapshotId: null,
      cloneLinked: null,
    };
    const admitted = placementTransaction(t.db, async (tx) =>
      // @ts-expect-error — every given column is required: left out, the prepared insert would write JSON null, not {}
      admitInstance(tx, actor, tenant.id, await lockTenantQuota(tx, tenant.id), { values: withoutTags, interfaces: [{}], action: 'launch', detail: {} }),
    );
    await expect(admitted).rejects.toThrow('admitInstance: tags was not given');
    expect(await t.db.select().from(instances).where(eq(instances.name, 'no-tags'))).toEqual([]);
  });

  it('places only on live, enabled hosts: a silent or offline host takes nothing', async () => {
    const { tenant, api } = await tenantWithOwner();
    await t.db.update(hosts).set({ heartbeatAt: new Date(Date.now() - 3_600_000) }).where(eq(hosts.id, hostId));
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/No host is accepting new instances/);
    await heartbeat(t.db, hostId);
    await markHostOffline(t.db, hostId);
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/No host is accepting new instances/);
    await t.db.update(hosts).set({ state: 'enabled' }).where(eq(hosts.id, hostId));
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).resolves.toMatchObject({ hostId });
  });

  it('checks the image: disabled images and sizes below its minimums are refused beside the field', async () => {
    const { tenant, api } = await tenantWithOwner();
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny, memoryMiB: 64 })).rejects.toThrow('Cirrus Tiny Linux needs at least 96 MiB of memory.');
    await t.db.update(images).set({ enabled: false });
    try {
      await expect(api.instances.launch({ tenantId: tenant.id, ...tiny })).rejects.toThrow(/not available for launches/);
    } finally {
      await t.db.update(images).set({ enabled: true });
    }
  });

  it('stop, start and terminate follow the state rules; terminate stops counting at once', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    await expect(api.instances.start({ tenantId: tenant.id, instanceId: inst.id })).rejects.toThrow(/cannot be started \(only a stopped one can\)/);
    await drain();
    await api.instances.stop({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('stopped');
    expect((await driver.status(inst.id)).state).toBe('stopped');
    await expect(api.instances.stop({ tenantId: tenant.id, instanceId: inst.id })).rejects.toThrow(/A stopped instance cannot be stopped/);
    await api.instances.start({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('running');

    const terminating = await api.instances.terminate({ tenantId: tenant.id, instanceId: inst.id });
    expect(terminating.state).toBe('terminating');
    expect((await tenantUsage(t.db, tenant.id)).instances).toBe(0);
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('terminated');
    await expect(driver.status(inst.id)).rejects.toThrow();
    // Gone from the default list, there under the terminated filter.
    expect((await api.instances.list({ tenantId: tenant.id })).items.map((i) => i.id)).not.toContain(inst.id);
    expect((await api.instances.list({ tenantId: tenant.id, states: ['terminated'] })).items.map((i) => i.id)).toContain(inst.id);
  });

  it('a force stop powers the guest off; a reboot leaves it running with an event', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    await drain();
    await api.instances.reboot({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: inst.id })).state).toBe('running');
    await api.instances.stop({ tenantId: tenant.id, instanceId: inst.id, force: true });
    await drain();
    const events = await api.instances.events({ tenantId: tenant.id, instanceId: inst.id });
    expect(events.map((e) => e.message)).toEqual(expect.arrayContaining(['Reboot requested.', 'Force stop requested.', 'The guest was powered off.']));
  });

  it('ends in error with the reason when the last attempt of an operation fails', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    const broken = Object.create(driver) as typeof driver;
    broken.start = async () => {
      throw new Error('qemu exited with status 1: could not open disk');
    };
    await expect(runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'start' }, { attempts: 1, maxAttempts: 4 })).rejects.toThrow(/could not open disk/);
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'start' }, { attempts: 4, maxAttempts: 4 });
    const after = await api.instances.get({ tenantId: tenant.id, instanceId: inst.id });
    expect(after.state).toBe('error');
    expect(after.stateReason).toBe('start failed after 4 attempts: qemu exited with status 1: could not open disk');
    await driver.destroy(inst.id).catch(() => undefined);
  });

  it('pages through many instances with a stable cursor, and filters by name, tag and state', async () => {
    const { tenant, api } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, {});
    for (let i = 0; i < 45; i++) {
      await api.instances.launch({ tenantId: tenant.id, ...tiny, name: `node-${String(i).padStart(2, '0')}`, tags: { tier: i % 3 === 0 ? 'db' : 'web' } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await api.instances.list({ tenantId: tenant.id, limit: 20, cursor, sort: 'name' });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(45);
    expect((await api.instances.list({ tenantId: tenant.id, name: 'NODE-4' })).items.map((i) => i.name).sort()).toEqual(
      ['node-40', 'node-41', 'node-42', 'node-43', 'node-44'],
    );
    expect((await api.instances.list({ tenantId: tenant.id, tag: { key: 'tier', value: 'db' }, limit: 100 })).items).toHaveLength(15);
    expect((await api.instances.list({ tenantId: tenant.id, states: ['running'] })).items).toHaveLength(0);
    await expect(api.instances.list({ tenantId: tenant.id, cursor: 'garbage' })).rejects.toThrow(/page link is no longer valid/);
  });

  it('pages newest-first without losing instances created within one millisecond (tenant and admin lists)', async () => {
    const { tenant, api } = await tenantWithOwner();
    await setQuota(t.db, tenant.id, {});
    const made = [];
    for (let i = 0; i < 6; i++) made.push((await api.instances.launch({ tenantId: tenant.id, ...tiny, name: `same-ms-${i}` })).id);
    // Microseconds apart, inside one millisecond: a cursor holding a JavaScript Date would skip some.
    for (const [i, id] of made.entries()) {
      await t.db.update(instances).set({ createdAt: sql`'2026-05-01 10:00:00.123'::timestamptz + ${i} * interval '1 microsecond'` }).where(eq(instances.id, id));
    }
    const walk = async (page: (cursor: string | null) => Promise<{ items: { id: string }[]; nextCursor: string | null }>) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const p = await page(cursor);
        seen.push(...p.items.map((i) => i.id));
        cursor = p.nextCursor;
      } while (cursor);
      return seen;
    };
    const newestFirst = [...made].reverse();
    expect(await walk((cursor) => api.instances.list({ tenantId: tenant.id, limit: 2, cursor, sort: 'newest' }))).toEqual(newestFirst);
    expect(await walk((cursor) => api.instances.list({ tenantId: tenant.id, limit: 4, cursor, sort: 'oldest' }))).toEqual(made);
    const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
    expect(await walk((cursor) => admin.admin.instances.list({ tenantId: tenant.id, limit: 1, cursor }))).toEqual(newestFirst);
  });

  it('another tenant gets NOT_FOUND for every instance procedure on your instance; a viewer may only read', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    const stranger = await tenantWithOwner();
    const other = stranger.api.instances;
    const input = { tenantId: stranger.tenant.id, instanceId: inst.id };
    const calls = [other.get, other.events, other.serialLog, other.start, other.stop, other.reboot, other.terminate];
    for (const call of calls) expect(await codeOf(call(input))).toBe('NOT_FOUND');
    const viewer = await makeUser(t.db);
    await addRole(t.db, tenant, viewer, 'viewer');
    expect((await callerAs(t.db, viewer).instances.get({ tenantId: tenant.id, instanceId: inst.id })).id).toBe(inst.id);
    expect(await codeOf(callerAs(t.db, viewer).instances.terminate({ tenantId: tenant.id, instanceId: inst.id }))).toBe('FORBIDDEN');
  });
});
