// Captured images above the driver (the in-memory one): made from an
// instance or a snapshot, private to their tenant until an admin publishes
// them, launched from, billed as storage, deleted only when nothing runs on
// them, and what a failure leaves. Real guests: server/hypervisor/qemu/clones.test.ts
// (the driver) and server/instances/real-guests.test.ts (through the server).
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { runInstanceOp } from '../instances/ops';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
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

async function running(name = 'vm') {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, name, diskGiB: 2 });
  await drain();
  return { tenant, api, inst, ids: { tenantId: tenant.id, instanceId: inst.id } };
}

const openImageMiB = async (imageId: string) =>
  (await t.db.select().from(usageSegments).where(and(eq(usageSegments.imageId, imageId), isNull(usageSegments.endedAt))))[0]?.quantity ?? null;

describe('captured images', () => {
  it('makes an image of a running instance, shows it to its tenant only, launches from it and bills its bytes', async () => {
    const a = await running('golden');
    const b = await running('other');
    const img = await a.api.images.create({ ...a.ids, name: 'Golden (v1)' });
    expect(img).toMatchObject({ state: 'creating', captured: true, published: false, minDiskGiB: 2, sourceInstanceId: a.inst.id, sourceSnapshotId: null });
    expect(img.id).toMatch(/^ami-[0-9a-f]{17}$/);
    expect((await a.api.images.list({ tenantId: a.tenant.id })).map((i) => i.id)).not.toContain(img.id); // not launchable while being made
    await drain();

    const own = await a.api.images.own({ tenantId: a.tenant.id });
    expect(own).toMatchObject([{ id: img.id, state: 'available', sizeBytes: 8 * 1024 * 1024, progress: null }]);
    expect(await openImageMiB(img.id)).toBe(8);
    expect((await a.api.images.list({ tenantId: a.tenant.id })).map((i) => i.id)).toContain(img.id);
    const events = (await a.api.instances.events(a.ids)).map((e) => e.message);
    expect(events).toContain(`Image “Golden (v1)” (${img.id}) is available.`);

    // Another tenant neither sees it nor launches it.
    expect((await b.api.images.list({ tenantId: b.tenant.id })).map((i) => i.id)).not.toContain(img.id);
    expect(await b.api.images.own({ tenantId: b.tenant.id })).toEqual([]);
    await expect(b.api.instances.launch({ tenantId: b.tenant.id, ...tiny, imageId: img.id, diskGiB: 2 })).rejects.toThrow('That image is not available for launches. Choose another.');
    await expect(b.api.images.delete({ tenantId: b.tenant.id, imageId: img.id })).rejects.toThrow(`Image ${img.id} was not found.`);

    // Its tenant launches from it, on a disk no smaller than the one it was made of.
    await expect(a.api.instances.launch({ tenantId: a.tenant.id, ...tiny, name: 'small', imageId: img.id, diskGiB: 1 })).rejects.toThrow('Golden (v1) needs a disk of at least 2 GiB.');
    const child = await a.api.instances.launch({ tenantId: a.tenant.id, ...tiny, name: 'child', imageId: img.id, diskGiB: 2 });
    await drain();
    expect((await a.api.instances.get({ tenantId: a.tenant.id, instanceId: child.id })).state).toBe('running');
    expect(driver.spec(child.id).image).toBe(img.id);

    // The invoice has a line for its storage.
    const { month } = await a.api.billing.summary({ tenantId: a.tenant.id });
    const invoice = await a.api.billing.invoice({ tenantId: a.tenant.id, month });
    expect(invoice.lines.find((l) => l.imageId === img.id)).toMatchObject({ resource: 'image_mib', imageName: 'Golden (v1)', instanceId: null });
  });

  it('an admin publishes it to every tenant; it is not deleted while any instance runs on it; deleting ends its billing', async () => {
    const a = await running();
    const b = await running();
    const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
    const snap = await a.api.snapshots.create({ ...a.ids, name: 'base' });
    await drain();
    const img = await a.api.images.create({ ...a.ids, name: 'shared', snapshotId: snap.id });
    await drain();
    await admin.admin.images.setPublished({ imageId: img.id, published: true });
    expect((await admin.admin.images.list()).find((i) => i.id === img.id)).toMatchObject({ published: true, state: 'available', ownerName: expect.any(String) });
    const theirs = await b.api.instances.launch({ tenantId: b.tenant.id, ...tiny, name: 'borrower', imageId: img.id, diskGiB: 2 });
    await drain();

    await expect(a.api.images.delete({ tenantId: a.tenant.id, imageId: img.id })).rejects.toThrow(
      'Image “shared” is the disk of instances that are not terminated: 1 of other tenants. Terminate them first.',
    );
    await b.api.instances.terminate({ tenantId: b.tenant.id, instanceId: theirs.id });
    await drain();
    await a.api.images.delete({ tenantId: a.tenant.id, imageId: img.id });
    expect(await openImageMiB(img.id)).toBeNull();
    await drain();
    const [row] = await t.db.select().from(images).where(eq(images.id, img.id));
    expect(row).toMatchObject({ state: 'deleted', enabled: false });
    expect(row!.deletedAt).toBeInstanceOf(Date);
    expect(await a.api.images.own({ tenantId: a.tenant.id })).toEqual([]);
    expect((await b.api.images.list({ tenantId: b.tenant.id })).map((i) => i.id)).not.toContain(img.id);
  });

  it('refuses what does not fit, with the reason', async () => {
    const a = await running();
    await expect(a.api.images.create({ ...a.ids, name: ' ' })).rejects.toThrow('Give the image a name.');
    await expect(a.api.images.create({ ...a.ids, name: 'x', snapshotId: 'snap-00000000000000000' })).rejects.toThrow('vm has no snapshot snap-00000000000000000.');
    await a.api.instances.suspend(a.ids);
    await drain();
    await expect(a.api.images.create({ ...a.ids, name: 'x' })).rejects.toThrow(/its saved memory: resume it first, or use one of its snapshots/);
    await a.api.instances.terminate(a.ids);
    await expect(a.api.images.create({ ...a.ids, name: 'x' })).rejects.toThrow('This instance is being terminated.');
    await expect(a.api.images.delete({ tenantId: a.tenant.id, imageId: 'not-an-image' })).rejects.toThrow('That is not an image id.');
  });

  it('an image that cannot be made ends in error with the reason, never launchable, and can be deleted', async () => {
    const a = await running();
    const broken = Object.create(driver) as FakeHypervisor;
    broken.captureImage = async () => {
      throw new Error('No space left on device');
    };
    const img = await a.api.images.create({ ...a.ids, name: 'doomed' });
    await runInstanceOp({ db: t.db, driver: broken }, { instanceId: a.inst.id, op: 'image-create', imageId: img.id }, { attempts: 4, maxAttempts: 4 });
    expect(await a.api.images.own({ tenantId: a.tenant.id })).toMatchObject([{ state: 'error', stateReason: 'Making it failed: No space left on device' }]);
    expect((await a.api.images.list({ tenantId: a.tenant.id })).map((i) => i.id)).not.toContain(img.id);
    expect(await openImageMiB(img.id)).toBeNull();
    await drain(); // the queued job finds it in error: nothing to do
    await a.api.images.delete({ tenantId: a.tenant.id, imageId: img.id });
    await drain();
    expect(await a.api.images.own({ tenantId: a.tenant.id })).toEqual([]);
  });
});
