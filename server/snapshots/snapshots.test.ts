// Snapshots above the driver (the in-memory one): requests, refusals,
// quotas, the ledger and what a failure leaves. Real guests:
// server/hypervisor/qemu/snapshots.test.ts.
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshots, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { runInstanceOp } from '../instances/ops';
import { tenantUsage } from '../quotas';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function running() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
  await drain();
  const ids = { tenantId: tenant.id, instanceId: inst.id };
  return { tenant, api, inst, ids, state: async () => (await api.instances.get(ids)).state };
}

const openSnapshotMiB = async (instanceId: string) =>
  (await t.db.select().from(usageSegments).where(and(eq(usageSegments.instanceId, instanceId), eq(usageSegments.resource, 'snapshot_mib'), isNull(usageSegments.endedAt))))[0]?.quantity ?? 0;

describe('snapshots', () => {
  it('takes one with memory and one without, lists them newest first, bills their bytes and counts them in the quota', async () => {
    const { api, ids, tenant, inst } = await running();
    const a = await api.snapshots.create({ ...ids, name: 'before upgrade', withMemory: true });
    expect(a).toMatchObject({ state: 'creating', withMemory: true });
    expect(a.id).toMatch(/^snap-[0-9a-f]{17}$/);
    await drain();
    await api.snapshots.create({ ...ids, name: 'disk only' });
    await drain();
    const list = await api.snapshots.list(ids);
    expect(list.map((s) => [s.name, s.state, s.withMemory])).toEqual([
      ['disk only', 'available', false],
      ['before upgrade', 'available', true],
    ]);
    // The fake's files: 8 MiB of disk each, and the guest's RAM for the memory one.
    expect(await openSnapshotMiB(inst.id)).toBe(8 + 8 + tiny.memoryMiB);
    expect(await tenantUsage(t.db, tenant.id)).toMatchObject({ snapshots: 2, snapshotGiB: 1 });
    expect((await driver.listSnapshots(inst.id)).map((s) => s.name).sort()).toEqual(list.map((s) => s.id).sort());
  });

  it('refuses what does not fit: a name taken, memory of a stopped instance, restoring without memory while it runs, over the quota', async () => {
    const { api, ids, tenant } = await running();
    const disk = await api.snapshots.create({ ...ids, name: 'one' });
    await drain();
    await expect(api.snapshots.create({ ...ids, name: 'ONE' })).rejects.toThrow('vm already has a snapshot named “ONE”.');
    await expect(api.snapshots.restore({ tenantId: tenant.id, snapshotId: disk.id })).rejects.toThrow(
      'A snapshot without memory is restored into a stopped instance: stop it first.',
    );
    await expect(api.snapshots.create({ ...ids, name: '  ' })).rejects.toThrow('Give the snapshot a name.');
    await setQuota(t.db, tenant.id, { snapshots: 1 });
    await expect(api.snapshots.create({ ...ids, name: 'two' })).rejects.toThrow(
      'Snapshots quota exceeded: this snapshot needs 1, the tenant uses 1 of its 1 limit, so 0 are left.',
    );
    await setQuota(t.db, tenant.id, {});
    await api.instances.stop(ids);
    await drain();
    await expect(api.snapshots.create({ ...ids, name: 'mem', withMemory: true })).rejects.toThrow('A snapshot with memory is taken of a running instance.');
    await expect(api.snapshots.restore({ tenantId: tenant.id, snapshotId: 'snap-00000000000000000' })).rejects.toThrow(/was not found/);
  });

  it('restores: a disk-only snapshot into the stopped instance; a memory one brings it back running', async () => {
    const { api, ids, tenant, state } = await running();
    const mem = await api.snapshots.create({ ...ids, name: 'mem', withMemory: true });
    const disk = await api.snapshots.create({ ...ids, name: 'disk' });
    await drain();
    await api.instances.stop(ids);
    await drain();
    expect((await api.snapshots.restore({ tenantId: tenant.id, snapshotId: disk.id })).state).toBe('restoring');
    await expect(api.instances.start(ids)).rejects.toThrow(/A restoring instance cannot be started/);
    await drain();
    expect(await state()).toBe('stopped');
    await api.snapshots.restore({ tenantId: tenant.id, snapshotId: mem.id });
    await drain();
    expect(await state()).toBe('running');
    const events = (await api.instances.events(ids)).map((e) => e.message);
    expect(events).toContain('Back at snapshot “mem”, running where it was taken.');
    expect(events).toContain('Its disk is back at snapshot “disk”.');
    expect((await api.snapshots.list(ids)).every((s) => s.state === 'available')).toBe(true);
  });

  it('deletes one and bills the rest from then on; terminate takes them all', async () => {
    const { api, ids, tenant, inst } = await running();
    const a = await api.snapshots.create({ ...ids, name: 'a' });
    await api.snapshots.create({ ...ids, name: 'b' });
    await drain();
    expect(await openSnapshotMiB(inst.id)).toBe(16);
    await api.snapshots.delete({ tenantId: tenant.id, snapshotId: a.id });
    await drain();
    expect((await api.snapshots.list(ids)).map((s) => s.name)).toEqual(['b']);
    expect(await openSnapshotMiB(inst.id)).toBe(8);
    await api.instances.terminate(ids);
    expect(await openSnapshotMiB(inst.id)).toBe(0);
    expect((await tenantUsage(t.db, tenant.id)).snapshots).toBe(0);
    await drain();
    expect(await t.db.select().from(snapshots).where(eq(snapshots.instanceId, inst.id))).toEqual([]);
  });

  it('a snapshot that cannot be taken ends in error with the reason, never available', async () => {
    const { api, ids, inst } = await running();
    const broken = Object.create(driver) as FakeHypervisor;
    broken.createSnapshot = async () => {
      throw new Error('No space left on device');
    };
    const s = await api.snapshots.create({ ...ids, name: 'doomed' });
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: inst.id, op: 'snapshot-create', snapshotId: s.id }, { attempts: 4, maxAttempts: 4 });
    const [row] = await api.snapshots.list(ids);
    expect(row).toMatchObject({ state: 'error', stateReason: 'Taking it failed: No space left on device' });
    expect(await openSnapshotMiB(inst.id)).toBe(0);
  });
});
