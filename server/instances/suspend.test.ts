// Suspend to disk and resume, above the driver: states, refusals, quota, host
// room, what a failure leaves and what a restart finds (the in-memory driver;
// the real guests are in server/hypervisor/qemu/saved-state.test.ts and
// server/instances/real-guests.test.ts).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts, instances } from '../db/schema';
import { allocatedOn } from '../hosts';
import type { FakeHypervisor, StateProgress } from '../hypervisor';
import { tenantUsage } from '../quotas';
import { newInstanceId } from './ids';
import { Reconciler } from '../reconciler';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
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

async function runningInstance(spec: Partial<typeof tiny> = {}) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner).instances;
  const inst = await api.launch({ tenantId: tenant.id, ...tiny, ...spec });
  await drain();
  const ids = { tenantId: tenant.id, instanceId: inst.id };
  return { tenant, api, inst, ids, get: () => api.get(ids) };
}

describe('suspend and resume', () => {
  it('running → suspending → suspended → resuming → running, with the saved size, events and an audit trail', async () => {
    const { api, inst, ids, get } = await runningInstance();
    expect((await api.suspend(ids)).state).toBe('suspending');
    await drain();
    const suspended = await get();
    expect(suspended).toMatchObject({ state: 'suspended', savedStateMiB: tiny.memoryMiB + 1, progress: null });
    expect((await driver.status(inst.id)).state).toBe('stopped');
    expect(await driver.savedState(inst.id)).not.toBeNull();

    expect((await api.resume(ids)).state).toBe('resuming');
    await drain();
    expect(await get()).toMatchObject({ state: 'running', savedStateMiB: null });
    expect(await driver.savedState(inst.id)).toBeNull();
    const events = (await api.events(ids)).map((e) => [e.fromState, e.toState]).reverse();
    expect(events.slice(-4)).toEqual([
      ['running', 'suspending'],
      ['suspending', 'suspended'],
      ['suspended', 'resuming'],
      ['resuming', 'running'],
    ]);
  });

  it('refuses wrong states with a sentence naming why', async () => {
    const { api, ids, inst } = await runningInstance();
    await expect(api.resume(ids)).rejects.toThrow(`vm (${inst.id}): A running instance cannot be resumed (only a suspended one can).`);
    await api.stop(ids);
    await drain();
    await expect(api.suspend(ids)).rejects.toThrow('A stopped instance cannot be suspended (only a running one can).');
    await api.start(ids);
    await drain();
    await api.suspend(ids);
    await drain();
    await expect(api.start(ids)).rejects.toThrow('A suspended instance is resumed, not started (or stop it to boot from its disk).');
    await expect(api.reboot(ids)).rejects.toThrow('A suspended instance cannot be rebooted.');
    await expect(api.suspend(ids)).rejects.toThrow(/A suspended instance cannot be suspended/);
  });

  it('counts the state in the saved-state quota: its memory while it is written, then its real size', async () => {
    const { tenant, api, ids } = await runningInstance({ memoryMiB: 256 });
    await setQuota(t.db, tenant.id, { savedStateMiB: 200 });
    await expect(api.suspend(ids)).rejects.toThrow(
      'Saved state quota exceeded: suspending vm needs 256 MiB, the tenant uses 0 MiB of its 200 MiB limit, so 200 MiB are left.',
    );
    await setQuota(t.db, tenant.id, { savedStateMiB: 600 });
    await api.suspend(ids);
    expect((await tenantUsage(t.db, tenant.id)).savedStateMiB).toBe(256);
    await drain();
    expect((await tenantUsage(t.db, tenant.id)).savedStateMiB).toBe(257);
    const second = await api.launch({ tenantId: tenant.id, ...tiny, memoryMiB: 400, name: 'second' });
    await drain();
    await expect(api.suspend({ tenantId: tenant.id, instanceId: second.id })).rejects.toThrow(/uses 257 MiB of its 600 MiB limit, so 343 MiB are left/);
  });

  it('gives its vCPUs and memory back to the host while suspended, and resumes only where there is room again', async () => {
    const { ids, api, inst } = await runningInstance({ vcpus: 2, memoryMiB: 512 });
    const before = await allocatedOn(t.db, hostId);
    await api.suspend(ids);
    await drain();
    const during = await allocatedOn(t.db, hostId);
    expect(before.vcpus - during.vcpus).toBe(2);
    expect(before.memoryMiB - during.memoryMiB).toBe(512);
    expect(during.diskGiB).toBe(before.diskGiB);

    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    // The host fills up meanwhile: 100 MiB short of what the instance needs.
    await t.db
      .update(hosts)
      .set({ memoryMiB: Math.ceil(((during.memoryMiB + 412 + host!.ramReserveMiB) * 100) / host!.ramRatioPct) })
      .where(eq(hosts.id, hostId));
    try {
      await expect(api.resume(ids)).rejects.toThrow(/has no room to resume it now: it needs 512 MiB more, and 41[0-9] MiB are free\. Try again later\.$/);
      expect((await api.get(ids)).state).toBe('suspended');
    } finally {
      await t.db.update(hosts).set({ memoryMiB: host!.memoryMiB }).where(eq(hosts.id, hostId));
    }
    await api.resume(ids);
    expect((await allocatedOn(t.db, hostId)).memoryMiB).toBe(before.memoryMiB); // held again from the request on
    await drain();
    expect((await driver.status(inst.id)).state).toBe('running');
  });

  it('stops a suspended instance only where its vCPUs and memory fit again: a stopped one holds them, and start checks nothing', async () => {
    // The reviewer's case: a host with room for 2 vCPUs, A suspended, B and C placed meanwhile.
    const small = await setUpCompute(t.db);
    await t.db.update(hosts).set({ cpus: 2, cpuRatioPct: 100, state: 'maintenance' }).where(eq(hosts.id, small.hostId)); // no launch lands here
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner).instances;
    const place = async (name: string, state: 'suspended' | 'running') => {
      const id = newInstanceId();
      await t.db.insert(instances).values({ ...tiny, id, tenantId: tenant.id, hostId: small.hostId, name, state, savedStateMiB: state === 'suspended' ? 64 : null });
      return { tenantId: tenant.id, instanceId: id };
    };
    const a = await place('a', 'suspended');
    await place('b', 'running');
    const c = await place('c', 'running');
    expect((await allocatedOn(t.db, small.hostId)).vcpus).toBe(2);

    await expect(api.stop(a)).rejects.toThrow(
      /^Its host test-\w+ has no room to stop it now: it needs 1 vCPU more, and 0 vCPU are free\. A stopped instance keeps its vCPUs and memory on its host, ready to start; try again later\.$/,
    );
    expect((await api.get(a)).state).toBe('suspended');
    expect((await allocatedOn(t.db, small.hostId)).vcpus).toBe(2);

    await api.terminate(c);
    expect((await api.stop(a)).state).toBe('stopping');
    expect((await allocatedOn(t.db, small.hostId)).vcpus).toBe(2);
  });

  it('stopping a suspended instance discards its state; terminating one removes everything', async () => {
    const a = await runningInstance();
    await a.api.suspend(a.ids);
    await drain();
    await a.api.stop(a.ids);
    await drain();
    expect(await a.get()).toMatchObject({ state: 'stopped', savedStateMiB: null });
    expect(await driver.savedState(a.inst.id)).toBeNull();
    const events = await a.api.events(a.ids);
    expect(events.map((e) => e.message)).toContain('Its saved state was discarded.');
    await a.api.start(a.ids);
    await drain();
    expect((await a.get()).state).toBe('running');

    const b = await runningInstance();
    await b.api.suspend(b.ids);
    await drain();
    await b.api.terminate(b.ids);
    await drain();
    expect((await b.get()).state).toBe('terminated');
    await expect(driver.status(b.inst.id)).rejects.toThrow(/does not exist/);
  });

  it('writes progress while it saves, and clears it when done', async () => {
    const { ids, api, inst } = await runningInstance();
    await api.suspend(ids);
    const seen: (StateProgress | null)[] = [];
    const slow = Object.create(driver) as FakeHypervisor;
    slow.saveState = async (id, onProgress) => {
      onProgress?.({ doneBytes: 64 * 1024 * 1024, totalBytes: 128 * 1024 * 1024 });
      await new Promise((r) => setTimeout(r, 300));
      const [row] = await t.db.select({ progress: instances.progress }).from(instances).where(eq(instances.id, inst.id));
      seen.push(row!.progress);
      return driver.saveState(id);
    };
    await runInstanceOp({ db: t.db, driver: slow }, { instanceId: inst.id, op: 'suspend' }, { attempts: 1, maxAttempts: 4 });
    expect(seen).toEqual([{ doneBytes: 64 * 1024 * 1024, totalBytes: 128 * 1024 * 1024 }]);
    expect(await api.get(ids)).toMatchObject({ state: 'suspended', progress: null });
  });

  it('a suspend that keeps failing leaves the guest running; a resume that keeps failing keeps the state', async () => {
    const { ids, api, inst, get } = await runningInstance();
    const broken = Object.create(driver) as FakeHypervisor;
    broken.saveState = async () => {
      throw new Error('No space left on device');
    };
    broken.restoreState = async () => {
      throw new Error('QEMU could not load the state and exited');
    };
    await api.suspend(ids);
    await expect(runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'suspend' }, { attempts: 1, maxAttempts: 4 })).rejects.toThrow(/No space/);
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'suspend' }, { attempts: 4, maxAttempts: 4 });
    expect(await get()).toMatchObject({ state: 'running', stateReason: 'Suspending failed after 4 attempts: No space left on device' });

    await api.suspend(ids);
    await drain();
    await api.resume(ids);
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'resume' }, { attempts: 4, maxAttempts: 4 });
    expect(await get()).toMatchObject({ state: 'suspended', stateReason: 'Resuming failed after 4 attempts: QEMU could not load the state and exited' });
    expect(await driver.savedState(inst.id)).not.toBeNull();
    await api.resume(ids);
    await drain();
    expect((await get()).state).toBe('running');
  });

  it('after a crash of the server between the save and its record, the retried job finds the state and finishes', async () => {
    const { ids, api, inst, get } = await runningInstance();
    await api.suspend(ids);
    // The worker died after the driver saved: the guest is gone, the state file is there, the row still says suspending.
    await driver.saveState(inst.id);
    await t.db.execute(`delete from graphile_worker._private_jobs`);
    await t.db.update(instances).set({ stateChangedAt: new Date(Date.now() - 3 * 60_000) }).where(eq(instances.id, inst.id));
    await new Reconciler({ db: t.db, driver, hostId, log: () => undefined, stuckAfterMs: 120_000 }).sweep();
    await drain();
    expect(await get()).toMatchObject({ state: 'suspended', savedStateMiB: tiny.memoryMiB + 1 });
  });
});
