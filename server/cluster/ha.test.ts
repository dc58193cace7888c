// High availability above the driver (in-memory hosts sharing an in-memory
// pool; the real thing — a node's namespace killed, its guest booted on
// another node from the shared pool — is in cluster.test.ts): a silent node is
// declared down once, its instances wait in error, nothing restarts before
// its fence says it is fenced, then the auto-recover ones restart on a host of
// the same pool and the others stay in error until their host comes back.
import crypto from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts, instanceEvents, instances, usageSegments } from '../db/schema';
import type { FakeSharedPool } from '../hypervisor/fake/driver';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { declareDownHosts, fenceDownHosts, haConfig, recoverInstances, rejoinHost } from './ha';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const row = async (id: string) => (await t.db.select().from(instances).where(eq(instances.id, id)))[0]!;
const setState = (hostId: string, state: 'enabled' | 'maintenance') => t.db.update(hosts).set({ state }).where(eq(hosts.id, hostId));
/** The host's server stops answering: no more heartbeats, the last one two minutes ago. */
const silence = async (h: { hostId: string; silence: () => void }) => {
  h.silence();
  await t.db.update(hosts).set({ heartbeatAt: sql`now() - interval '120 seconds'` }).where(eq(hosts.id, h.hostId));
};

async function cluster() {
  // The earlier tests' hosts take nothing more: each test has a cluster of its own.
  await t.db.update(hosts).set({ state: 'maintenance' }).where(eq(hosts.state, 'enabled'));
  const pool: FakeSharedPool = { id: crypto.randomUUID(), guests: new Map() };
  const a = await setUpCompute(t.db, { sharedPool: pool, node: true });
  const b = await setUpCompute(t.db, { sharedPool: pool, node: true });
  // A node that does not mount the pool: never a home for an auto-recover instance.
  const c = await setUpCompute(t.db, { node: true });
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner, `ha-${crypto.randomBytes(2).toString('hex')}`);
  await setQuota(t.db, tenant.id, {});
  const api = callerAs(t.db, owner);
  return { pool, a, b, c, owner, tenant, api };
}

describe('high availability', () => {
  it('a silent node is declared down and fenced; its auto-recover instances restart on a host of its pool, the others wait in error until it is back', async () => {
    const { pool, a, b, c, tenant, api } = await cluster();
    // Everything launched onto A.
    await setState(b.hostId, 'maintenance');
    await setState(c.hostId, 'maintenance');
    const keeper = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'keeper', autoRecover: true });
    const parked = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'parked', autoRecover: true });
    const plain = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'plain' });
    await drainJobs(t.db, t.url, a.hostId, a.driver);
    await api.instances.stop({ tenantId: tenant.id, instanceId: parked.id });
    await drainJobs(t.db, t.url, a.hostId, a.driver);
    await setState(b.hostId, 'enabled');
    await setState(c.hostId, 'enabled');
    expect([keeper.hostId, parked.hostId, plain.hostId]).toEqual([a.hostId, a.hostId, a.hostId]);
    // The auto-recover ones were made on the shared pool, the other on its host only.
    expect([...pool.guests.keys()].sort()).toEqual([keeper.id, parked.id].sort());
    expect((await row(keeper.id)).state).toBe('running');

    // A's server goes silent. Two control planes watching at once declare it down once.
    await silence(a);
    const [one, two] = await Promise.all([declareDownHosts(t.db, 60), declareDownHosts(t.db, 60)]);
    expect([...one, ...two].map((h) => h.id)).toEqual([a.hostId]);
    expect((await t.db.select().from(hosts).where(eq(hosts.id, a.hostId)))[0]).toMatchObject({ state: 'down', fencedAt: null });
    for (const [vm, back] of [
      [keeper, 'running'],
      [parked, 'stopped'],
      [plain, 'running'],
    ] as const) {
      expect(await row(vm.id)).toMatchObject({ state: 'error', recoverTo: back, stateReason: expect.stringMatching(/^Host down: /) });
    }
    expect((await row(keeper.id)).stateReason).toMatch(/restarts on another host once .* is fenced/);
    expect((await row(plain.id)).stateReason).toMatch(/its disk is there\. It comes back when the host does/);
    // What ran is no longer billed as running.
    const openCompute = await t.db
      .select({ resource: usageSegments.resource })
      .from(usageSegments)
      .where(and(eq(usageSegments.instanceId, keeper.id), isNull(usageSegments.endedAt), sql`${usageSegments.resource} in ('vcpu', 'memory_mib')`));
    expect(openCompute).toEqual([]);

    // Not fenced, nothing moves: a fence that fails is said and tried again.
    expect(await recoverInstances(t.db)).toEqual([]);
    const said: string[] = [];
    expect(await fenceDownHosts(t.db, async () => Promise.reject(new Error('the power switch did not answer')), (m) => said.push(m))).toEqual([]);
    expect(said.join('\n')).toMatch(/fencing .* failed \(tried again\): the power switch did not answer/);
    const fencedHosts: string[] = [];
    expect((await fenceDownHosts(t.db, async (h) => void fencedHosts.push(h.id))).map((h) => h.id)).toEqual([a.hostId]);
    expect(fencedHosts).toEqual([a.hostId]);

    // Fenced: the auto-recover ones go to B (C does not mount the pool), as they were; the other stays.
    const recovered = await recoverInstances(t.db);
    expect(recovered.map((r) => [r.instanceId, r.state]).sort()).toEqual(
      [
        [keeper.id, 'starting'],
        [parked.id, 'stopped'],
      ].sort(),
    );
    await drainJobs(t.db, t.url, b.hostId, b.driver);
    expect(await row(keeper.id)).toMatchObject({ hostId: b.hostId, state: 'running', recoverTo: null });
    expect(await row(parked.id)).toMatchObject({ hostId: b.hostId, state: 'stopped' });
    expect((await b.driver.status(keeper.id)).state).toBe('running');
    // B took both over from the pool; A no longer lists them.
    expect(pool.guests.get(parked.id)?.owner).toBe(b.driver);
    expect((await a.driver.list()).map((g) => g.id)).toEqual([plain.id]);
    const events = await t.db.select({ action: instanceEvents.action, message: instanceEvents.message }).from(instanceEvents).where(eq(instanceEvents.instanceId, keeper.id));
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['host-down', 'recovered', 'started']));
    expect(events.find((e) => e.action === 'recovered')?.message).toMatch(/was fenced; it restarts on .*, from its disk on the shared pool/);
    // A recovered instance is started on B again as any other: the parked one starts there.
    await api.instances.start({ tenantId: tenant.id, instanceId: parked.id });
    await drainJobs(t.db, t.url, b.hostId, b.driver);
    expect((await row(parked.id)).state).toBe('running');

    // A comes back: it is enabled, what is still on it leaves error as it was (stopped), what moved stays moved.
    expect(await rejoinHost(t.db, a.hostId)).toBe(1);
    expect((await t.db.select().from(hosts).where(eq(hosts.id, a.hostId)))[0]).toMatchObject({ state: 'enabled', downAt: null, fencedAt: null });
    expect(await row(plain.id)).toMatchObject({ hostId: a.hostId, state: 'stopped', recoverTo: null });
    expect(await row(keeper.id)).toMatchObject({ hostId: b.hostId, state: 'running' });
    expect(await rejoinHost(t.db, a.hostId)).toBeNull(); // not down: nothing to do
    expect(await declareDownHosts(t.db, 60)).toEqual([]);
  });

  it('an instance that finds no room on its pool waits in error, saying why, and is recovered once there is room', async () => {
    const { a, b, c, tenant, api } = await cluster();
    await setState(b.hostId, 'maintenance');
    await setState(c.hostId, 'maintenance');
    const vm = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'waiting', autoRecover: true });
    await drainJobs(t.db, t.url, a.hostId, a.driver);
    await silence(a);
    await declareDownHosts(t.db, 60);
    await fenceDownHosts(t.db, async () => undefined);
    // B is in maintenance: no host of the pool takes it.
    expect(await recoverInstances(t.db)).toEqual([]);
    expect(await row(vm.id)).toMatchObject({ state: 'error', hostId: a.hostId, stateReason: expect.stringMatching(/^Host down; waiting for room on another host to restart on: No host with a shared pool/) });
    await setState(b.hostId, 'enabled');
    expect((await recoverInstances(t.db)).map((r) => r.instanceId)).toEqual([vm.id]);
    await drainJobs(t.db, t.url, b.hostId, b.driver);
    expect(await row(vm.id)).toMatchObject({ state: 'running', hostId: b.hostId });
  });

  it('refuses what an auto-recover instance cannot have, saying why', async () => {
    const { tenant, api, c, a, b } = await cluster();
    // Only C is open: it mounts no shared pool.
    await setState(a.hostId, 'maintenance');
    await setState(b.hostId, 'maintenance');
    await expect(api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'nowhere', autoRecover: true })).rejects.toThrow(/No host with a shared pool/);
    await setState(a.hostId, 'enabled');
    await setState(c.hostId, 'maintenance');
    const vm = await api.instances.launch({ tenantId: tenant.id, ...tiny, name: 'ha', autoRecover: true });
    await drainJobs(t.db, t.url, a.hostId, a.driver);
    await expect(api.instances.clone({ tenantId: tenant.id, instanceId: vm.id, name: 'copy', linked: true })).rejects.toThrow(/is auto-recover: its disk is on the shared pool/);
    const vol = await api.volumes.create({ tenantId: tenant.id, name: 'data', sizeGiB: 1 });
    await drainJobs(t.db, t.url, a.hostId, a.driver);
    await expect(api.volumes.attach({ tenantId: tenant.id, volumeId: vol.id, instanceId: vm.id })).rejects.toThrow(/is auto-recover: everything it uses must be on the shared pool/);
  });

  it('reads its settings from the environment, refusing bad ones', () => {
    expect(haConfig({})).toMatchObject({ downAfterSeconds: 60, fence: null });
    expect(haConfig({ CIRRUS_HOST_DOWN_AFTER: '30', CIRRUS_FENCE_COMMAND: '/usr/local/bin/fence-node' })).toMatchObject({ downAfterSeconds: 30, fenceCommand: '/usr/local/bin/fence-node' });
    // Less than two heartbeats would declare a node down for one late beat.
    expect(() => haConfig({ CIRRUS_HOST_DOWN_AFTER: '10' })).toThrow(/from 20 \(two heartbeats\) to 3600/);
    expect(() => haConfig({ CIRRUS_FENCE_COMMAND: 'fence-node; rm -rf /' })).toThrow(/absolute path/);
  });
});
