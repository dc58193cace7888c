// The rules of a move that keep an instance on exactly one host, without
// QEMU (the in-memory driver; real moves are in cluster.test.ts and
// hypervisor/qemu/live-migration.test.ts): a node takes only a guest moving
// to it, never removes one the database says is its own, and a move that
// cannot be done ends failed, saying why, with nothing held on the target.
import crypto from 'node:crypto';
import { eq, notInArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts, instanceEvents, instanceMigrations, instances } from '../db/schema';
import { allocatedOn } from '../hosts';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { migrationTarget, runMigration } from './migrate';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

async function runningOn() {
  const source = await setUpCompute(t.db);
  const target = await setUpCompute(t.db);
  const owner = await makeUser(t.db);
  const admin = await makeUser(t.db, { isAdmin: true });
  const tenant = await makeTenant(t.db, owner, `moves-${crypto.randomBytes(2).toString('hex')}`);
  await setQuota(t.db, tenant.id, {});
  // Only these two take it: an earlier test's host may be as empty (a failed move gives its room back), and placement
  // breaks ties by host id, so the guest would land there one run in three, not on this test's source.
  await t.db.update(hosts).set({ state: 'maintenance' }).where(notInArray(hosts.id, [source.hostId, target.hostId]));
  const vm = await callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny, name: 'mover' });
  // Wherever placement put it, the other host is the target.
  const [from, to] = vm.hostId === source.hostId ? [source, target] : [target, source];
  await drainJobs(t.db, t.url, from.hostId, from.driver);
  return { from, to, admin, vm };
}

describe('moves between hosts', () => {
  it('a node takes a guest only while it is moving there, and never removes the one the database says it runs', async () => {
    const { from, to, admin, vm } = await runningOn();
    const there = migrationTarget(t.db, to.hostId, to.driver);
    await expect(there.prepare(vm.id, { spec: { id: vm.id } })).rejects.toThrow(/is not moving to this host/);
    await expect(there.open(vm.id, 'state')).rejects.toThrow(/is not moving to this host/);
    // On its own host, an abort (a move's undo) is refused: that guest is the instance.
    const here = migrationTarget(t.db, from.hostId, from.driver);
    await expect(here.abort(vm.id)).rejects.toThrow(/runs on this host: it is not removed/);
    expect((await from.driver.status(vm.id)).state).toBe('running');
    // Moving: the target takes it; its room is held on both hosts meanwhile.
    const move = await callerAs(t.db, admin).admin.instances.migrate({ instanceId: vm.id, targetHostId: to.hostId });
    expect(move).toMatchObject({ state: 'queued', kind: 'live', sourceHostId: from.hostId, targetHostId: to.hostId });
    expect((await allocatedOn(t.db, to.hostId)).vcpus).toBe(tiny.vcpus);
    expect((await allocatedOn(t.db, from.hostId)).vcpus).toBe(tiny.vcpus);
    await expect(there.prepare(vm.id, { spec: { id: 'i-00000000000000000' } })).rejects.toThrow(/not the instance named/);
    // A second move while one is under way is refused with a sentence.
    await expect(callerAs(t.db, admin).admin.instances.migrate({ instanceId: vm.id })).rejects.toThrow(/already moving/);
  });

  it('a move the source cannot make ends failed with the reason, the target’s room given back and the instance where it was', async () => {
    const { from, to, admin, vm } = await runningOn();
    const move = await callerAs(t.db, admin).admin.instances.migrate({ instanceId: vm.id, targetHostId: to.hostId });
    // The in-memory driver cannot move guests.
    await runMigration({ db: t.db, driver: from.driver, hostId: from.hostId, key: crypto.randomBytes(32), log: () => undefined }, vm.id, move.id);
    const [m] = await t.db.select().from(instanceMigrations).where(eq(instanceMigrations.id, move.id));
    expect(m).toMatchObject({ state: 'failed', error: expect.stringMatching(/cannot move guests|no node channel/) });
    const [row] = await t.db.select({ hostId: instances.hostId, moving: instances.migrationHostId, state: instances.state }).from(instances).where(eq(instances.id, vm.id));
    expect(row).toEqual({ hostId: from.hostId, moving: null, state: 'running' });
    expect((await allocatedOn(t.db, to.hostId)).vcpus).toBe(0);
    const events = await t.db.select({ action: instanceEvents.action, message: instanceEvents.message }).from(instanceEvents).where(eq(instanceEvents.instanceId, vm.id));
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['migration-requested', 'migration-failed']));
    // Run again (a retried job), it does nothing more.
    await runMigration({ db: t.db, driver: from.driver, hostId: from.hostId, key: crypto.randomBytes(32), log: () => undefined }, vm.id, move.id);
    expect((await t.db.select().from(instanceEvents).where(eq(instanceEvents.instanceId, vm.id))).length).toBe(events.length);
  });

  it('cancels a move that has not begun at once, its room on the target given back; one at its switch or ended is refused with a sentence', async () => {
    const { from, to, admin, vm } = await runningOn();
    const api = callerAs(t.db, admin);
    const move = await api.admin.instances.migrate({ instanceId: vm.id, targetHostId: to.hostId });
    expect((await allocatedOn(t.db, to.hostId)).vcpus).toBe(tiny.vcpus);
    const cancelled = await api.admin.instances.cancelMigration({ migrationId: move.id });
    expect(cancelled).toMatchObject({ state: 'failed', cancelledBy: admin.email, error: expect.stringMatching(/cancelled it before it began/) });
    expect((await allocatedOn(t.db, to.hostId)).vcpus).toBe(0);
    const [row] = await t.db.select({ hostId: instances.hostId, moving: instances.migrationHostId, state: instances.state }).from(instances).where(eq(instances.id, vm.id));
    expect(row).toEqual({ hostId: from.hostId, moving: null, state: 'running' });
    // Its job, run now, finds it ended and does nothing.
    await runMigration({ db: t.db, driver: from.driver, hostId: from.hostId, key: crypto.randomBytes(32), log: () => undefined }, vm.id, move.id);
    expect((await t.db.select().from(instanceMigrations).where(eq(instanceMigrations.id, move.id)))[0]!.state).toBe('failed');
    await expect(api.admin.instances.cancelMigration({ migrationId: move.id })).rejects.toThrow(/has ended \(failed\): there is nothing to cancel/);
    // One at its switch: too late.
    const next = await api.admin.instances.migrate({ instanceId: vm.id, targetHostId: to.hostId });
    await t.db.update(instanceMigrations).set({ state: 'switching' }).where(eq(instanceMigrations.id, next.id));
    await expect(api.admin.instances.cancelMigration({ migrationId: next.id })).rejects.toThrow(/too late to cancel/);
    // One under way is marked for its node to cancel (migrate.ts looks every half second).
    await t.db.update(instanceMigrations).set({ state: 'copying' }).where(eq(instanceMigrations.id, next.id));
    expect(await api.admin.instances.cancelMigration({ migrationId: next.id })).toMatchObject({ state: 'copying', cancelRequestedAt: expect.any(Date) });
  });

  it('refuses what cannot move, saying why: a suspended instance, and a move to its own host', async () => {
    const { from, admin, vm } = await runningOn();
    await expect(callerAs(t.db, admin).admin.instances.migrate({ instanceId: vm.id, targetHostId: from.hostId })).rejects.toThrow(/already runs on that host/);
    await t.db.update(instances).set({ state: 'suspended' }).where(eq(instances.id, vm.id));
    await expect(callerAs(t.db, admin).admin.instances.migrate({ instanceId: vm.id })).rejects.toThrow(/suspended \(its saved memory is on its host/);
  });
});
