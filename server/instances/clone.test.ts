// Clones above the driver (the in-memory one): admission like a launch
// (quota, capacity on the source's host, NICs and addresses of their own),
// what the start job asks of the driver, and what a clone being made keeps
// its source from doing. Real guests: server/hypervisor/qemu/clones.test.ts
// and the Debian system test (server/instances/debian-guests.test.ts).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts } from '../db/schema';
import type { CloneOptions, FakeHypervisor, GuestSpec } from '../hypervisor';
import { tenantUsage } from '../quotas';
import { runInstanceOp } from './ops';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
const clones: { source: string; spec: GuestSpec; opts: CloneOptions }[] = [];
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
  const clone = driver.clone.bind(driver);
  driver.clone = (source, spec, opts, onProgress) => {
    clones.push({ source, spec, opts });
    return clone(source, spec, opts, onProgress);
  };
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function running(launch: Partial<typeof tiny> = {}) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, ...launch });
  await drain();
  return { owner, tenant, api, inst, ids: { tenantId: tenant.id, instanceId: inst.id } };
}

describe('clones', () => {
  it('clones a running instance as it is now into a new instance of its size, with NICs, MACs and addresses of its own', async () => {
    const { api, tenant, inst, ids } = await running({ nics: 2, vcpus: 2 });
    const c = await api.instances.clone({ ...ids, name: 'copy' });
    expect(c).toMatchObject({ state: 'pending', name: 'copy', vcpus: 2, memoryMiB: tiny.memoryMiB, diskGiB: tiny.diskGiB, nics: 2, imageId: tiny.imageId, hostId: inst.hostId });
    expect(c).toMatchObject({ cloneOfInstanceId: inst.id, cloneOfSnapshotId: null, cloneLinked: true });
    expect(c.id).not.toBe(inst.id);
    expect(await tenantUsage(t.db, tenant.id)).toMatchObject({ instances: 2, vcpus: 4, nics: 4 });
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: c.id })).state).toBe('running');
    expect(clones.at(-1)).toMatchObject({ source: inst.id, opts: { snapshot: null, linked: true } });
    expect(clones.at(-1)!.spec).toMatchObject({ id: c.id, vcpus: 2, diskGiB: tiny.diskGiB, image: tiny.imageId });
    // It personalises itself: its own hostname (its name) and instance id go to cloud-init.
    expect(clones.at(-1)!.spec.cloudInit?.hostname).toBe('copy');

    const mine = await api.instances.interfaces(ids);
    const theirs = await api.instances.interfaces({ tenantId: tenant.id, instanceId: c.id });
    expect(theirs.map((n) => [n.networkId, n.rateMbit])).toEqual(mine.map((n) => [n.networkId, n.rateMbit]));
    for (const n of theirs) {
      expect(mine.map((m) => m.mac)).not.toContain(n.mac);
      expect(mine.map((m) => m.address)).not.toContain(n.address);
    }
    const events = (await api.instances.events(ids)).map((e) => e.message);
    expect(events).toContain(`Cloned into copy (${c.id}).`);
    const own = (await api.instances.events({ tenantId: tenant.id, instanceId: c.id })).map((e) => e.message);
    expect(own.some((m) => /^Clone requested on test-.*\. A linked clone of vm as it is now\.$/.test(m ?? ''))).toBe(true);
  });

  it('clones a snapshot, full, from a suspended instance, and the driver is asked for that snapshot', async () => {
    const { api, tenant, ids, inst } = await running();
    const snap = await api.snapshots.create({ ...ids, name: 'golden' });
    await drain();
    await api.instances.suspend(ids);
    await drain();
    await expect(api.instances.clone({ ...ids, name: 'now' })).rejects.toThrow(/resume it first, or use one of its snapshots/);
    const c = await api.instances.clone({ ...ids, name: 'from-golden', snapshotId: snap.id, linked: false });
    await drain();
    expect(clones.at(-1)).toMatchObject({ source: inst.id, opts: { snapshot: snap.id, linked: false } });
    expect(await api.instances.get({ tenantId: tenant.id, instanceId: c.id })).toMatchObject({ state: 'running', cloneOfSnapshotId: snap.id, cloneLinked: false, progress: null });
  });

  it('passes quota and capacity exactly like a launch, and says which', async () => {
    const { api, tenant, ids } = await running({ memoryMiB: 256 });
    await setQuota(t.db, tenant.id, { instances: 1 });
    await expect(api.instances.clone({ ...ids, name: 'one-too-many' })).rejects.toThrow(
      'Instances quota exceeded: this clone needs 1, the tenant uses 1 of its 1 limit, so 0 are left.',
    );
    await setQuota(t.db, tenant.id, { memoryMiB: 300 });
    await expect(api.instances.clone({ ...ids, name: 'too-big' })).rejects.toThrow(/^Memory quota exceeded: this clone needs 256 MiB/);
    await setQuota(t.db, tenant.id, {});
    // Its source's host is the only one that will do: full, it refuses, naming it.
    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    await t.db.update(hosts).set({ memoryMiB: 0 }).where(eq(hosts.id, hostId));
    try {
      await expect(api.instances.clone({ ...ids, name: 'no-room' })).rejects.toThrow(`Its host ${host!.name} has no room for 1 vCPU, 256 MiB and 1 GiB`);
    } finally {
      await t.db.update(hosts).set({ memoryMiB: host!.memoryMiB }).where(eq(hosts.id, hostId));
    }
    expect((await api.instances.list({ tenantId: tenant.id })).items.map((i) => i.name)).toEqual(['vm']);
  });

  it('refuses bad input and wrong states with the reason', async () => {
    const { api, tenant, ids } = await running();
    await expect(api.instances.clone({ ...ids, name: ' ' })).rejects.toThrow('Give the instance a name.');
    await expect(api.instances.clone({ ...ids, name: 'x', snapshotId: 'snap-00000000000000000' })).rejects.toThrow('vm has no snapshot snap-00000000000000000.');
    await expect(api.instances.clone({ ...ids, name: 'x', snapshotId: '../etc' })).rejects.toThrow('That is not a snapshot id.');
    const other = await running();
    await expect(other.api.instances.clone({ tenantId: other.tenant.id, instanceId: ids.instanceId, name: 'theft' })).rejects.toThrow(/was not found/);
    const taking = await api.snapshots.create({ ...ids, name: 'taking' });
    await expect(api.instances.clone({ ...ids, name: 'x', snapshotId: taking.id })).rejects.toThrow('Snapshot “taking” is creating: only an available one can be cloned.');
    await drain();
    await api.instances.terminate(ids);
    await expect(api.instances.clone({ ...ids, name: 'x' })).rejects.toThrow('This instance is being terminated.');
    expect((await tenantUsage(t.db, tenant.id)).instances).toBe(0);
  });

  it('while a clone is being made, its source is not terminated, suspended or restored and its snapshot not deleted; after, it is', async () => {
    const { api, tenant, ids } = await running();
    const snap = await api.snapshots.create({ ...ids, name: 'base' });
    await drain();
    const c = await api.instances.clone({ ...ids, name: 'pending-copy', snapshotId: snap.id });
    const busy = `vm (${ids.instanceId}) is being cloned into pending-copy (${c.id})`;
    await expect(api.instances.terminate(ids)).rejects.toThrow(`${busy}: terminate it once that clone is made.`);
    await expect(api.instances.suspend(ids)).rejects.toThrow(`${busy}: suspend it once that clone is made.`);
    await expect(api.snapshots.delete({ tenantId: tenant.id, snapshotId: snap.id })).rejects.toThrow(`${busy}: delete snapshot “base” once that clone is made.`);
    await drain();
    await api.snapshots.delete({ tenantId: tenant.id, snapshotId: snap.id });
    await api.instances.terminate(ids);
    await drain();
    expect((await api.instances.get({ tenantId: tenant.id, instanceId: c.id })).state).toBe('running');
  });

  it('a clone that cannot be made ends in error with the reason, and frees its source', async () => {
    const { api, tenant, ids } = await running();
    const broken = Object.create(driver) as FakeHypervisor;
    broken.clone = async () => {
      throw new Error('No space left on device');
    };
    const c = await api.instances.clone({ ...ids, name: 'doomed', linked: false });
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: c.id, op: 'start' }, { attempts: 4, maxAttempts: 4 });
    const got = await api.instances.get({ tenantId: tenant.id, instanceId: c.id });
    expect(got.state).toBe('error');
    expect(got.stateReason).toBe('start failed after 4 attempts: No space left on device');
    await api.instances.terminate(ids);
    await drain();
    expect((await api.instances.get(ids)).state).toBe('terminated');
  });
});
