import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, disableUser, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, {}, { 'old-distro': { minMemoryMiB: 64, minDiskGiB: 1 } }));
});
afterAll(() => t.close());

async function setting() {
  const admin = callerAs(t.db, await makeUser(t.db, { isAdmin: true }));
  const ownerUser = await makeUser(t.db);
  const tenant = await makeTenant(t.db, ownerUser);
  return { admin, owner: callerAs(t.db, ownerUser), ownerUser, tenant };
}

describe('admin: images', () => {
  it('a disabled image leaves the launch list and is refused; its instances still stop and start; enabling brings it back', async () => {
    const { admin, owner, tenant } = await setting();
    await t.db.insert(images).values({ id: 'old-distro', name: 'Old Distro', minMemoryMiB: 64, minDiskGiB: 1, sizeBytes: 50 << 20, virtualSizeBytes: 1 << 30 });
    const vm = await owner.instances.launch({ tenantId: tenant.id, ...tiny, imageId: 'old-distro' });
    await drainJobs(t.db, t.url, hostId, driver);

    const listed = await admin.admin.images.list();
    expect(listed.find((i) => i.id === 'old-distro')).toMatchObject({ enabled: true, sizeBytes: 50 << 20, virtualSizeBytes: 1 << 30, minMemoryMiB: 64, instances: 1 });

    await admin.admin.images.setEnabled({ imageId: 'old-distro', enabled: false });
    expect((await owner.images.list({ tenantId: tenant.id })).map((i) => i.id)).not.toContain('old-distro');
    await expect(owner.instances.launch({ tenantId: tenant.id, ...tiny, imageId: 'old-distro' })).rejects.toThrow(/not available for launches/);
    expect((await admin.admin.images.list()).find((i) => i.id === 'old-distro')?.enabled).toBe(false);

    await owner.instances.stop({ tenantId: tenant.id, instanceId: vm.id });
    await drainJobs(t.db, t.url, hostId, driver);
    await owner.instances.start({ tenantId: tenant.id, instanceId: vm.id });
    await drainJobs(t.db, t.url, hostId, driver);
    expect((await owner.instances.get({ tenantId: tenant.id, instanceId: vm.id })).state).toBe('running');

    await admin.admin.images.setEnabled({ imageId: 'old-distro', enabled: true });
    expect((await owner.images.list({ tenantId: tenant.id })).map((i) => i.id)).toContain('old-distro');
  });

  it('refuses an unknown or malformed image id with a message', async () => {
    const { admin } = await setting();
    await expect(admin.admin.images.setEnabled({ imageId: 'no-such-image', enabled: false })).rejects.toThrow(/image was not found/);
    await expect(admin.admin.images.setEnabled({ imageId: '../etc', enabled: false })).rejects.toThrow(/Unknown image/);
  });
});

describe('admin: flavors', () => {
  it('creates, edits, disables and deletes presets; tenants see only enabled ones', async () => {
    const { admin, owner, tenant } = await setting();
    const xl = await admin.admin.flavors.create({ name: 'xl', vcpus: 8, memoryMiB: 16384, diskGiB: 40, nics: 2 });
    const names = async () => (await owner.flavors.list({ tenantId: tenant.id })).map((f) => f.name);
    expect(await names()).toContain('xl');

    const edited = await admin.admin.flavors.update({ flavorId: xl.id, memoryMiB: 32768, name: 'xl-mem' });
    expect(edited).toMatchObject({ name: 'xl-mem', memoryMiB: 32768, vcpus: 8 });
    await admin.admin.flavors.update({ flavorId: xl.id, enabled: false });
    expect(await names()).not.toContain('xl-mem');
    expect((await admin.admin.flavors.list()).find((f) => f.id === xl.id)?.enabled).toBe(false);

    await admin.admin.flavors.delete({ flavorId: xl.id });
    expect((await admin.admin.flavors.list()).map((f) => f.id)).not.toContain(xl.id);
    await expect(admin.admin.flavors.delete({ flavorId: xl.id })).rejects.toThrow(/flavor was not found/);
  });

  it('refuses duplicate names (whatever the case) and sizes no launch could take', async () => {
    const { admin } = await setting();
    await admin.admin.flavors.create({ name: 'dup', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 });
    await expect(admin.admin.flavors.create({ name: 'DUP', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 })).rejects.toThrow(/already exists/);
    await expect(admin.admin.flavors.create({ name: 'huge', vcpus: 33, memoryMiB: 128, diskGiB: 1, nics: 1 })).rejects.toThrow(/vCPUs must be at most 32/);
    await expect(admin.admin.flavors.create({ name: 'tiny-mem', vcpus: 1, memoryMiB: 10, diskGiB: 1, nics: 1 })).rejects.toThrow(/Memory must be at least 64 MiB/);
    await expect(admin.admin.flavors.create({ name: 'bad name!', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 })).rejects.toThrow(/Use letters, digits/);
    const other = await admin.admin.flavors.create({ name: 'other', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 });
    await expect(admin.admin.flavors.update({ flavorId: other.id, name: 'Dup' })).rejects.toThrow(/already exists/);
  });
});

describe('admin: tenants', () => {
  it('creates a tenant owned by an existing user, who then sees and uses it; the admin sees its members', async () => {
    const { admin, ownerUser } = await setting();
    const created = await admin.admin.tenants.create({ name: 'Globex', ownerEmail: ownerUser.email });
    expect((await callerAs(t.db, ownerUser).tenants.list()).map((x) => x.id)).toContain(created.id);

    const detail = await admin.admin.tenants.get({ tenantId: created.id });
    expect(detail).toMatchObject({ name: 'Globex', suspendedAt: null });
    expect(detail.members).toEqual([expect.objectContaining({ userId: ownerUser.id, email: ownerUser.email, role: 'owner', disabledAt: null })]);
    expect(detail.usage.instances).toBe(0);
  });

  it('refuses an owner who has not signed up or is disabled, and names the field', async () => {
    const { admin } = await setting();
    await expect(admin.admin.tenants.create({ name: 'Nobody Inc', ownerEmail: 'nobody@example.test' })).rejects.toMatchObject({
      message: expect.stringMatching(/No Cirrus user has the e-mail/),
      cause: expect.objectContaining({ field: 'ownerEmail' }),
    });
    const gone = await makeUser(t.db);
    await disableUser(t.db, gone);
    await expect(admin.admin.tenants.create({ name: 'Gone Inc', ownerEmail: gone.email })).rejects.toThrow(/is disabled/);
    await expect(admin.admin.tenants.get({ tenantId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(/tenant was not found/);
  });

  it('a tenant keeps the defaults it was created with when an admin changes them later', async () => {
    const { admin } = await setting();
    const before = await admin.admin.quotas.getDefaults();
    const early = await makeTenant(t.db, await makeUser(t.db));
    await admin.admin.quotas.setDefaults({ ...before, vcpus: before.vcpus + 7 });
    const late = await makeTenant(t.db, await makeUser(t.db));
    expect((await admin.admin.tenants.get({ tenantId: early.id })).limits.vcpus).toBe(before.vcpus);
    expect((await admin.admin.tenants.get({ tenantId: late.id })).limits.vcpus).toBe(before.vcpus + 7);
    await admin.admin.quotas.setDefaults(before);
  });
});
