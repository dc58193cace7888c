// Volumes above the driver (the in-memory driver and pool): requests,
// refusals, races against the quota, the pool's capacity and one another,
// the ledger, and what a failure or a lost job leaves. Real guests:
// server/instances/debian-guests.test.ts.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storagePools, usageSegments, volumes } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import type { MemoryPool } from '../hypervisor/fake/pool';
import { runInstanceOp } from '../instances/ops';
import { reconcileVolumes } from './ops';
import { GiB } from './pools';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
let pool: MemoryPool;
let poolId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId, pool, poolId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);

async function tenantWithInstance(name = 'vm') {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name });
  await drain();
  return { tenant, api, inst, tenantId: tenant.id };
}

const openSegments = async (volumeId: string) =>
  (await t.db.select().from(usageSegments).where(and(eq(usageSegments.volumeId, volumeId), isNull(usageSegments.endedAt))))
    .map((s) => [s.resource, s.quantity])
    .sort();

describe('volumes', () => {
  it('creates a blank volume in the pool, attaches it to a running instance (hot-plug), detaches it, and deletes it', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const made = await api.volumes.create({ tenantId, name: 'data', sizeGiB: 2 });
    expect(made).toMatchObject({ state: 'creating', sizeGiB: 2, iops: 3000, mbps: 125, instanceId: null });
    expect(made.id).toMatch(/^vol-[0-9a-f]{17}$/);
    await drain();
    expect(await pool.info(made.id)).toMatchObject({ sizeBytes: 2 * GiB });
    expect(await api.volumes.get({ tenantId, volumeId: made.id })).toMatchObject({ state: 'available' });
    // The baseline I/O is in the price of its GiB.
    expect(await openSegments(made.id)).toEqual([['volume_gib', 2]]);

    expect(await api.volumes.attach({ tenantId, volumeId: made.id, instanceId: inst.id })).toMatchObject({ state: 'attaching', instanceId: inst.id });
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: made.id })).toMatchObject({ state: 'in-use', instanceId: inst.id, instanceName: 'vm' });
    expect(await driver.listVolumes(inst.id)).toEqual([
      expect.objectContaining({ id: made.id, source: pool.source(made.id), limits: { iops: 3000, bytesPerSecond: 125_000_000 } }),
    ]);
    expect((await api.volumes.list({ tenantId, instanceId: inst.id })).items.map((v) => v.id)).toEqual([made.id]);
    await expect(api.volumes.delete({ tenantId, volumeId: made.id })).rejects.toThrow('Volume “data” is attached (in-use): detach it before deleting it.');

    await api.volumes.detach({ tenantId, volumeId: made.id });
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: made.id })).toMatchObject({ state: 'available', instanceId: null });
    expect(await driver.listVolumes(inst.id)).toEqual([]);

    await api.volumes.delete({ tenantId, volumeId: made.id });
    expect(await openSegments(made.id)).toEqual([]); // billing ends with the request
    await drain();
    expect(await pool.info(made.id)).toBeNull();
    await expect(api.volumes.get({ tenantId, volumeId: made.id })).rejects.toThrow(`Volume ${made.id} was not found.`);
    expect((await api.volumes.list({ tenantId })).items).toEqual([]);
  });

  it('refuses bad input with a reason: size 0, another tenant’s instance or volume, a busy volume, a taken name', async () => {
    const a = await tenantWithInstance();
    const b = await tenantWithInstance();
    await expect(a.api.volumes.create({ tenantId: a.tenantId, name: 'zero', sizeGiB: 0 })).rejects.toThrow('A volume is at least 1 GiB.');
    await expect(a.api.volumes.create({ tenantId: a.tenantId, name: 'huge', sizeGiB: 16_385 })).rejects.toThrow('A volume is at most 16384 GiB.');
    await expect(a.api.volumes.create({ tenantId: a.tenantId, name: 'fast', sizeGiB: 1, iops: 99 })).rejects.toThrow('At least 100 IOPS.');
    await expect(a.api.volumes.create({ tenantId: a.tenantId, name: '../x', sizeGiB: 1 })).rejects.toThrow(/Use letters, digits/);
    const vol = await a.api.volumes.create({ tenantId: a.tenantId, name: 'mine', sizeGiB: 1 });
    await expect(a.api.volumes.create({ tenantId: a.tenantId, name: 'MINE', sizeGiB: 1 })).rejects.toThrow('A volume named “MINE” already exists.');
    // Not yet made.
    await expect(a.api.volumes.attach({ tenantId: a.tenantId, volumeId: vol.id, instanceId: a.inst.id })).rejects.toThrow(
      'Volume “mine” is creating: only an available volume can be attached (a volume has one attachment at a time).',
    );
    await drain();
    // Another tenant's instance, seen from a, does not exist; nor does a's volume from b.
    await expect(a.api.volumes.attach({ tenantId: a.tenantId, volumeId: vol.id, instanceId: b.inst.id })).rejects.toThrow(`Instance ${b.inst.id} was not found.`);
    await expect(b.api.volumes.attach({ tenantId: b.tenantId, volumeId: vol.id, instanceId: b.inst.id })).rejects.toThrow(`Volume ${vol.id} was not found.`);
    await expect(b.api.volumes.delete({ tenantId: b.tenantId, volumeId: vol.id })).rejects.toThrow(`Volume ${vol.id} was not found.`);
    await expect(b.api.volumes.list({ tenantId: a.tenantId })).rejects.toThrow('Tenant not found.');
    // Detaching what is not attached; attaching to an instance that is not running or stopped.
    await expect(a.api.volumes.detach({ tenantId: a.tenantId, volumeId: vol.id })).rejects.toThrow('Volume “mine” is available: only a volume in use can be detached.');
    await a.api.instances.suspend({ tenantId: a.tenantId, instanceId: a.inst.id });
    await drain();
    await expect(a.api.volumes.attach({ tenantId: a.tenantId, volumeId: vol.id, instanceId: a.inst.id })).rejects.toThrow(
      'vm is suspended: a volume is attached to a running or stopped instance.',
    );
  });

  it('two concurrent attaches of one volume: exactly one succeeds', async () => {
    const a = await tenantWithInstance('one');
    const other = await a.api.instances.launch({ tenantId: a.tenantId, ...tiny, name: 'two' });
    const vol = await a.api.volumes.create({ tenantId: a.tenantId, name: 'shared', sizeGiB: 1 });
    await drain();
    const results = await Promise.allSettled([
      a.api.volumes.attach({ tenantId: a.tenantId, volumeId: vol.id, instanceId: a.inst.id }),
      a.api.volumes.attach({ tenantId: a.tenantId, volumeId: vol.id, instanceId: other.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(/Volume “shared” is attaching .*only an available volume can be attached/);
    await drain();
    const now = await a.api.volumes.get({ tenantId: a.tenantId, volumeId: vol.id });
    expect(now.state).toBe('in-use');
    const holders = [(await driver.listVolumes(a.inst.id)).length, (await driver.listVolumes(other.id)).length];
    expect(holders.sort()).toEqual([0, 1]);
  });

  it('concurrent creates never pass the volume quota, the GiB quota or the pool’s capacity', async () => {
    const a = await tenantWithInstance();
    await setQuota(t.db, a.tenantId, { volumes: 3, volumeGiB: 1000 });
    const burst = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => a.api.volumes.create({ tenantId: a.tenantId, name: `q${i}`, sizeGiB: 1 })));
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(String((burst.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/Volumes quota exceeded/);

    const b = await tenantWithInstance();
    await setQuota(t.db, b.tenantId, { volumes: 100, volumeGiB: 10 });
    const gib = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => b.api.volumes.create({ tenantId: b.tenantId, name: `g${i}`, sizeGiB: 4 })));
    expect(gib.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(String((gib.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/Volume storage quota exceeded/);

    // The pool: room for exactly what is promised already plus 10 GiB; two tenants race for it.
    const promised = (await t.db.execute<{ promised: number }>(sql`select coalesce(sum(size_gib), 0)::int as promised from volumes where pool_id = ${poolId} and state <> 'deleted'`)).rows[0]!.promised;
    await t.db.update(storagePools).set({ capacityBytes: (promised + 10) * GiB }).where(eq(storagePools.id, poolId));
    const c = await tenantWithInstance();
    const d = await tenantWithInstance();
    const race = await Promise.allSettled(
      [c, d, c, d, c, d].map((x, i) => x.api.volumes.create({ tenantId: x.tenantId, name: `cap${i}`, sizeGiB: 3 })),
    );
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(String((race.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/Not enough storage: 3 GiB asked, 1 GiB free/);
    const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
    const row = (await admin.admin.storage.list()).find((p) => p.id === poolId)!;
    expect(row.allocatedGiB).toBe(promised + 9);
    // Admins see each volume of the pool, whoever's it is, a page at a time.
    const page = await admin.admin.storage.volumes({ poolId, limit: 2 });
    expect(page.items).toHaveLength(2);
    const next = await admin.admin.storage.volumes({ poolId, cursor: page.nextCursor, limit: 100 });
    expect([...page.items, ...next.items].filter((v) => v.name.startsWith('cap')).map((v) => v.tenantName).sort()).toEqual(
      race.flatMap((r, i) => (r.status === 'fulfilled' ? [[c, d][i % 2]!.tenant.name] : [])).sort(),
    );
    await expect(admin.admin.storage.update({ poolId, capacityGiB: promised + 8 })).rejects.toThrow(`Its volumes already take ${promised + 9} GiB: the capacity cannot be less.`);
    await admin.admin.storage.update({ poolId, capacityGiB: 100_000 });
  });

  it('bills each volume by the GiB-second, and provisioned IOPS and MB/s above the baseline, for exactly its seconds', async () => {
    const { api, tenantId } = await tenantWithInstance();
    const vol = await api.volumes.create({ tenantId, name: 'billed', sizeGiB: 5, iops: 4000, mbps: 150 });
    await drain();
    expect(await openSegments(vol.id)).toEqual([['volume_gib', 5], ['volume_iops', 1000], ['volume_mbps', 25]]);
    await api.volumes.delete({ tenantId, volumeId: vol.id });
    // Two hours of it, inside this month.
    await t.db.execute(sql`update usage_segments set started_at = date_trunc('month', now()), ended_at = date_trunc('month', now()) + interval '7200 seconds' where volume_id = ${vol.id}`);
    const { month } = await api.billing.summary({ tenantId });
    const lines = (await api.billing.invoice({ tenantId, month })).lines.filter((l) => l.volumeId === vol.id);
    expect(lines.map((l) => [l.resource, l.volumeName, l.instanceId, l.seconds, l.unitSeconds, l.amountMicro]).sort()).toEqual([
      ['volume_gib', 'billed', null, 7200, 5 * 7200, 5 * 110 * 2],
      ['volume_iops', 'billed', null, 7200, 1000 * 7200, 1000 * 7 * 2],
      ['volume_mbps', 'billed', null, 7200, 25 * 7200, 25 * 55 * 2],
    ]);
  });

  it('outlives its instance: terminating it frees the volume, data kept; a memory snapshot is refused while one is attached', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const vol = await api.volumes.create({ tenantId, name: 'keep', sizeGiB: 1 });
    await drain();
    await api.volumes.attach({ tenantId, volumeId: vol.id, instanceId: inst.id });
    await drain();
    await expect(api.snapshots.create({ tenantId, instanceId: inst.id, name: 'mem', withMemory: true })).rejects.toThrow(/vm has a volume attached: detach it to take a snapshot with memory/);
    await api.instances.terminate({ tenantId, instanceId: inst.id });
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'available', instanceId: null });
    expect(await pool.info(vol.id)).not.toBeNull();
    expect(await openSegments(vol.id)).toEqual([['volume_gib', 1]]);
  });

  it('a guest that does not let go keeps the volume in use, saying why; detaching again finishes once it does', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const vol = await api.volumes.create({ tenantId, name: 'held', sizeGiB: 1 });
    await drain();
    await api.volumes.attach({ tenantId, volumeId: vol.id, instanceId: inst.id });
    await drain();
    driver.holdVolumes(inst.id);
    await api.volumes.detach({ tenantId, volumeId: vol.id });
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'in-use', stateReason: expect.stringContaining('did not let go of volume') });
    driver.holdVolumes(inst.id, false);
    await api.volumes.detach({ tenantId, volumeId: vol.id });
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'available', stateReason: null });
  });

  it('a volume from a snapshot is a copy of that disk in its instance’s pool, at least the disk’s size', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const snap = await api.snapshots.create({ tenantId, instanceId: inst.id, name: 'base' });
    await drain();
    await expect(api.volumes.create({ tenantId, name: 'small', snapshotId: snap.id, sizeGiB: 0 })).rejects.toThrow('A volume is at least 1 GiB.');
    const vol = await api.volumes.create({ tenantId, name: 'copy', snapshotId: snap.id, sizeGiB: 3 });
    expect(vol).toMatchObject({ state: 'creating', sourceSnapshotId: snap.id, sourceInstanceId: inst.id });
    await drain();
    expect(driver.exported(pool.source(vol.id).path)).toMatchObject({ sourceId: inst.id, snapshot: snap.id });
    expect(await pool.info(vol.id)).toMatchObject({ sizeBytes: 3 * GiB });
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'available' });
  });

  it('converges after a crash mid-attach (the guest has it, the database says attaching, the job is gone) and unplugs what nobody owns', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const vol = await api.volumes.create({ tenantId, name: 'crash', sizeGiB: 1 });
    await drain();
    await api.volumes.attach({ tenantId, volumeId: vol.id, instanceId: inst.id });
    // The server died after QEMU plugged it in, before the state moved; its job is lost.
    await driver.attachVolume(inst.id, { id: vol.id, source: pool.source(vol.id), limits: null });
    await t.db.execute(sql`delete from graphile_worker._private_jobs where id in (select id from graphile_worker.jobs where queue_name = ${`instance:${inst.id}`})`);
    expect(await reconcileVolumes(t.db, driver, hostId, () => undefined)).toEqual(['volume-job-requeued']);
    await drain();
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'in-use' });
    expect((await driver.listVolumes(inst.id)).map((v) => v.id)).toEqual([vol.id]);
    // A volume the guest holds that the database gives to nobody there is unplugged.
    const stray = 'vol-00000000000000bad';
    await driver.attachVolume(inst.id, { id: stray, source: pool.source(stray), limits: null });
    expect(await reconcileVolumes(t.db, driver, hostId, () => undefined)).toEqual(['volume-unplugged']);
    expect((await driver.listVolumes(inst.id)).map((v) => v.id)).toEqual([vol.id]);
    // The database has it in use and the guest lost it: it is plugged in again.
    await driver.detachVolume(inst.id, vol.id);
    expect(await reconcileVolumes(t.db, driver, hostId, () => undefined)).toEqual(['volume-replugged']);
    await drain();
    expect((await driver.listVolumes(inst.id)).map((v) => v.id)).toEqual([vol.id]);
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'in-use' });
  });

  it('a last failed attach leaves the volume available with the reason, and the instance as it was', async () => {
    const { api, inst, tenantId } = await tenantWithInstance();
    const vol = await api.volumes.create({ tenantId, name: 'fails', sizeGiB: 1 });
    await drain();
    await api.volumes.attach({ tenantId, volumeId: vol.id, instanceId: inst.id });
    const broken = Object.create(driver) as FakeHypervisor;
    broken.attachVolume = async () => {
      throw new Error('device_add failed: no free slot');
    };
    const pools = () => pool;
    await expect(runInstanceOp({ db: t.db, driver: broken, pools }, { instanceId: inst.id, op: 'volume-attach', volumeId: vol.id }, { attempts: 1, maxAttempts: 4 })).rejects.toThrow(/no free slot/);
    await runInstanceOp({ db: t.db, driver: broken, pools }, { instanceId: inst.id, op: 'volume-attach', volumeId: vol.id }, { attempts: 4, maxAttempts: 4 });
    expect(await api.volumes.get({ tenantId, volumeId: vol.id })).toMatchObject({ state: 'available', instanceId: null, stateReason: expect.stringContaining('attaching failed: device_add failed') });
    expect((await api.instances.get({ tenantId, instanceId: inst.id })).state).toBe('running');
    const [row] = await t.db.select().from(volumes).where(eq(volumes.id, vol.id));
    expect(row!.attachedAt).toBeNull();
  });
});
