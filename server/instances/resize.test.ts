// Resizing above the driver (the in-memory one): what is admitted (state,
// image, quota, the host's room), the size quotas count at once, the ledger
// split when the driver grants it, and what a failure leaves. Real guests:
// server/hypervisor/qemu/resize.test.ts and the Debian system test.
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts, images, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { tenantUsage } from '../quotas';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { runInstanceOp } from './ops';

const HOT = 'hot-linux';
let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, {}, { [HOT]: { minMemoryMiB: 128, minDiskGiB: 1 } }));
  await t.db.insert(images).values({ id: HOT, name: 'Hot Linux', minMemoryMiB: 128, minDiskGiB: 1, features: { cloudInit: false, guestAgent: false, hotplug: true } });
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function launched(launch: Record<string, unknown> = {}) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, memoryMiB: 256, ...launch });
  await drain();
  const ids = { tenantId: tenant.id, instanceId: inst.id };
  return { tenant, api, inst, ids, get: () => api.instances.get(ids) };
}

const segments = (instanceId: string, resource: 'vcpu' | 'memory_mib' | 'disk_gib' | 'nic') =>
  t.db
    .select({ quantity: usageSegments.quantity, open: usageSegments.endedAt })
    .from(usageSegments)
    .where(and(eq(usageSegments.instanceId, instanceId), eq(usageSegments.resource, resource)))
    .orderBy(asc(usageSegments.startedAt), asc(usageSegments.id));

describe('resize', () => {
  it('a stopped instance changes size either way and grows its disk; quotas count the new size at once', async () => {
    const { api, ids, tenant, inst, get } = await launched({ vcpus: 2 });
    await api.instances.stop(ids);
    await drain();
    const asked = await api.instances.resize({ ...ids, vcpus: 1, memoryMiB: 512, diskGiB: 3 });
    expect(asked).toMatchObject({ state: 'resizing', vcpus: 1, memoryMiB: 512, diskGiB: 3 });
    expect(await tenantUsage(t.db, tenant.id)).toMatchObject({ vcpus: 1, memoryMiB: 512, diskGiB: 3 });
    await drain();
    expect(await get()).toMatchObject({ state: 'stopped', vcpus: 1, memoryMiB: 512, diskGiB: 3 });
    expect(driver.spec(inst.id)).toMatchObject({ vcpus: 1, memoryMiB: 512, diskGiB: 3 });
    expect((await segments(inst.id, 'disk_gib')).map((s) => [s.quantity, s.open === null])).toEqual([
      [1, false],
      [3, true],
    ]);
    const events = (await api.instances.events(ids)).map((e) => e.message);
    expect(events).toContain('It has 1 vCPU, 512 MiB, 3 GiB now.');
    // It boots at its new size, and compute is billed at it.
    await api.instances.start(ids);
    await drain();
    expect((await segments(inst.id, 'vcpu')).at(-1)).toMatchObject({ quantity: 1, open: null });
  });

  it('a running instance of an image that onlines them gets vCPUs and memory up to its room; the ledger splits when granted', async () => {
    const { api, ids, inst, get } = await launched({ imageId: HOT, maxVcpus: 4, maxMemoryMiB: 1024 });
    expect(driver.spec(inst.id)).toMatchObject({ vcpus: 1, maxVcpus: 4, memoryMiB: 256, maxMemoryMiB: 1024 });
    await api.instances.resize({ ...ids, vcpus: 3, memoryMiB: 768, diskGiB: 2 });
    // Billed at the old size until the driver has done it.
    expect((await segments(inst.id, 'vcpu')).map((s) => s.quantity)).toEqual([1]);
    await drain();
    expect(await get()).toMatchObject({ state: 'running', vcpus: 3, memoryMiB: 768, diskGiB: 2 });
    expect((await segments(inst.id, 'vcpu')).map((s) => [s.quantity, s.open === null])).toEqual([
      [1, false],
      [3, true],
    ]);
    expect((await segments(inst.id, 'memory_mib')).map((s) => s.quantity)).toEqual([256, 768]);
    expect((await api.instances.events(ids)).map((e) => e.message)).toContain('It has 3 vCPU, 768 MiB, 2 GiB now, added while it runs.');
  });

  it('refuses what cannot be, saying why', async () => {
    const hot = await launched({ imageId: HOT, maxVcpus: 2, maxMemoryMiB: 512, diskGiB: 2 });
    const refuse = (input: Record<string, number>, message: string | RegExp) => expect(hot.api.instances.resize({ ...hot.ids, ...input })).rejects.toThrow(message);
    await refuse({ vcpus: 3 }, 'It was started with room for 2 vCPUs: stop it to go beyond.');
    await refuse({ memoryMiB: 1024 }, 'It was started with room for 512 MiB: stop it to go beyond.');
    await refuse({ memoryMiB: 300 }, 'Memory is added to a running instance in steps of 128 MiB.');
    await refuse({ memoryMiB: 128 }, 'A running instance is not made smaller: stop it first.');
    await refuse({ diskGiB: 1, vcpus: 2 }, 'A disk only grows: it has 2 GiB.');
    await refuse({ maxVcpus: 8 }, /The room to grow into while it runs is set while it is stopped\./);
    await refuse({ vcpus: 1 }, /That is the size it has\./);
    await expect(hot.api.instances.resize({ ...hot.ids, vcpus: 1, maxVcpus: 0 })).rejects.toThrow(/The vCPU ceiling must be at least 1/);

    // An image that does not online hot-added vCPUs: only while stopped.
    const plain = await launched();
    await expect(plain.api.instances.resize({ ...plain.ids, vcpus: 2 })).rejects.toThrow('Its image does not bring hot-added vCPUs and memory online: stop it to change them.');
    await expect(plain.api.instances.launch({ tenantId: plain.tenant.id, ...tiny, name: 'roomy', maxVcpus: 2 })).rejects.toThrow(/does not bring hot-added vCPUs and memory online/);
    await plain.api.instances.stop(plain.ids);
    await drain();
    await expect(plain.api.instances.resize({ ...plain.ids, diskGiB: 0 })).rejects.toThrow(/Disk must be at least 1/);
    await expect(plain.api.instances.resize({ ...plain.ids, memoryMiB: 64 })).rejects.toThrow('Cirrus Tiny Linux needs at least 96 MiB of memory.');
    await setQuota(t.db, plain.tenant.id, { vcpus: 2 });
    await expect(plain.api.instances.resize({ ...plain.ids, vcpus: 3 })).rejects.toThrow(/^vCPUs quota exceeded: this resize needs 2/);
    await setQuota(t.db, plain.tenant.id, {});
    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    await t.db.update(hosts).set({ diskGiB: 0 }).where(eq(hosts.id, hostId));
    try {
      await expect(plain.api.instances.resize({ ...plain.ids, diskGiB: 5 })).rejects.toThrow(/has no room to grow it to 1 vCPU, 256 MiB, 5 GiB now: it needs 4 GiB more, and 0 GiB are free\./);
    } finally {
      await t.db.update(hosts).set({ diskGiB: host!.diskGiB }).where(eq(hosts.id, hostId));
    }
    expect((await plain.get()).state).toBe('stopped');
  });

  it('a stopped instance gets and gives up network interfaces; a running one keeps its own', async () => {
    const { api, ids, tenant, inst, get } = await launched();
    await expect(api.instances.resize({ ...ids, nics: 2 })).rejects.toThrow('Network interfaces are added or taken away while it is stopped.');
    await api.instances.stop(ids);
    await drain();
    await api.instances.resize({ ...ids, nics: 3 });
    expect(await tenantUsage(t.db, tenant.id)).toMatchObject({ nics: 3, bandwidthMbit: 300 });
    await drain();
    expect(await get()).toMatchObject({ state: 'stopped', nics: 3 });
    const three = await api.instances.interfaces(ids);
    expect(three.map((n) => [n.position, n.networkName, n.address])).toEqual([
      [0, 'default', '10.0.0.2'],
      [1, 'default', '10.0.0.3'],
      [2, 'default', '10.0.0.4'],
    ]);
    expect(driver.spec(inst.id).nics.map((n) => n.mac)).toEqual(three.map((n) => n.mac));
    expect((await api.instances.events(ids)).map((e) => e.message)).toContain('It has 1 vCPU, 256 MiB, 1 GiB and 3 network interfaces now.');
    await api.instances.resize({ ...ids, nics: 1 });
    await drain();
    expect((await api.instances.interfaces(ids)).map((n) => n.address)).toEqual(['10.0.0.2']);
    expect(driver.spec(inst.id).nics).toHaveLength(1);
    expect((await segments(inst.id, 'nic')).map((s) => s.quantity)).toEqual([1, 3, 1]);
    expect(await tenantUsage(t.db, tenant.id)).toMatchObject({ nics: 1 });
  });

  it('a memory snapshot is restored only at the size it was taken at', async () => {
    const { api, ids, tenant } = await launched({ vcpus: 2 });
    const snap = await api.snapshots.create({ ...ids, name: 'at two', withMemory: true });
    await drain();
    expect((await api.snapshots.list(ids))[0]).toMatchObject({ vcpus: 2, memoryMiB: 256 });
    await api.instances.stop(ids);
    await drain();
    await api.instances.resize({ ...ids, vcpus: 1 });
    await drain();
    await expect(api.snapshots.restore({ tenantId: tenant.id, snapshotId: snap.id })).rejects.toThrow(
      'Snapshot “at two” holds the memory of vm at 2 vCPU and 256 MiB; it has 1 vCPU and 256 MiB now. Resize it back (stopped) to restore it.',
    );
    await api.instances.resize({ ...ids, vcpus: 2 });
    await drain();
    expect((await api.snapshots.restore({ tenantId: tenant.id, snapshotId: snap.id })).state).toBe('restoring');
    await drain();
    expect((await api.instances.get(ids)).state).toBe('running');
  });

  it('a resize that keeps failing goes back with the reason and the size the guest really has', async () => {
    const { api, ids, inst, get } = await launched({ imageId: HOT, maxVcpus: 4 });
    await api.instances.resize({ ...ids, vcpus: 3 });
    const broken = Object.create(driver) as FakeHypervisor;
    broken.resize = async (id, to) => {
      if (Object.keys(to).length === 0) return driver.spec(id); // what it has
      throw new Error('device_add failed: no free slot');
    };
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'resize' }, { attempts: 4, maxAttempts: 4 });
    expect(await get()).toMatchObject({ state: 'running', vcpus: 1, stateReason: 'Resizing failed: device_add failed: no free slot' });
    expect((await segments(inst.id, 'vcpu')).map((s) => s.quantity)).toEqual([1]);
  });
});
