// Launching with a key pair and user data: what reaches the driver's
// cloud-init settings, and every refusal beside its field.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, instances } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
const keys = mkdtempSync(path.join(os.tmpdir(), 'cirrus-launch-keys-'));
let publicKey = '';
const debian = { ...tiny, imageId: 'debian-12', memoryMiB: 512, diskGiB: 2 };

beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, {}, { 'debian-12': { minMemoryMiB: 512, minDiskGiB: 2 } }));
  await t.db.insert(images).values({
    id: 'debian-12',
    name: 'Debian 12 (bookworm)',
    minMemoryMiB: 512,
    minDiskGiB: 2,
    osFamily: 'debian',
    osVersion: '12',
    loginUser: 'debian',
    features: { cloudInit: true, guestAgent: true, hotplug: true },
  });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', path.join(keys, 'k')]);
  publicKey = readFileSync(path.join(keys, 'k.pub'), 'utf8').trim();
});
afterAll(async () => {
  rmSync(keys, { recursive: true, force: true });
  await t.close();
});

async function tenantWithOwner() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { tenant, api: callerAs(t.db, owner) };
}

/** The field a refusal names and its sentence. */
async function refusal(p: Promise<unknown>): Promise<{ field: string | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof TRPCError)) throw e;
    const cause = e.cause as { field?: string; issues?: { path: (string | number)[]; message: string }[] } | undefined;
    if (cause?.issues) return { field: String(cause.issues[0]!.path[0]), message: cause.issues[0]!.message };
    return { field: cause?.field, message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('launch with a key pair and user data', () => {
  it('copies the key and user data onto the instance; the driver gets host name, key, user data and addresses for cloud-init', async () => {
    const { tenant, api } = await tenantWithOwner();
    const key = await api.keyPairs.import({ tenantId: tenant.id, name: 'laptop', publicKey });
    const userData = '#cloud-config\nruncmd:\n  - [sh, -c, "echo hi > /marker"]\n';
    const inst = await api.instances.launch({ tenantId: tenant.id, ...debian, name: 'Web server_1', keyPairId: key.id, userData });
    expect(inst.keyName).toBe('laptop');
    await drainJobs(t.db, t.url, hostId, driver);
    const spec = driver.spec(inst.id);
    const [nic] = await api.instances.interfaces({ tenantId: tenant.id, instanceId: inst.id });
    expect(nic?.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(spec.cloudInit).toEqual({ hostname: 'web-server-1', sshKeys: [publicKey], userData, addresses: [nic!.address] });
    // Deleting the key pair changes nothing the instance was given.
    await api.keyPairs.delete({ tenantId: tenant.id, keyPairId: key.id });
    const [row] = await t.db.select().from(instances).where(eq(instances.id, inst.id));
    expect(row).toMatchObject({ keyName: 'laptop', sshPublicKey: publicKey, userData });
  });

  it('refuses, beside the field: a key pair or user data for an image without cloud-init, an unknown or another tenant’s key pair, user data over 16 KiB or not UTF-8', async () => {
    const { tenant, api } = await tenantWithOwner();
    const other = await tenantWithOwner();
    const key = await api.keyPairs.import({ tenantId: tenant.id, name: 'laptop', publicKey });
    const theirs = await other.api.keyPairs.import({ tenantId: other.tenant.id, name: 'theirs', publicKey });
    const launch = (extra: Record<string, unknown>) => api.instances.launch({ tenantId: tenant.id, ...debian, ...extra });

    expect(await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, keyPairId: key.id }))).toEqual({
      field: 'keyPairId',
      message: 'Cirrus Tiny Linux does not run cloud-init, so it cannot take a key pair or user data. Choose an image that does, or leave them out.',
    });
    expect((await refusal(api.instances.launch({ tenantId: tenant.id, ...tiny, userData: '#!/bin/sh\n' }))).field).toBe('userData');
    expect(await refusal(launch({ keyPairId: theirs.id }))).toMatchObject({ field: 'keyPairId' });
    expect(await refusal(launch({ keyPairId: crypto.randomUUID() }))).toMatchObject({ field: 'keyPairId' });
    expect(await refusal(launch({ userData: 'x'.repeat(16 * 1024 + 1) }))).toEqual({ field: 'userData', message: 'User data must be at most 16 KiB.' });
    expect(await refusal(launch({ userData: 'bad \ud800 text' }))).toEqual({ field: 'userData', message: 'User data must be UTF-8 text (a cloud-config or a script), not binary.' });
    // Exactly 16 KiB is fine; nothing was launched by the refusals.
    await launch({ name: 'edge', userData: 'é'.repeat(8 * 1024) });
    const rows = await t.db.select().from(instances).where(eq(instances.tenantId, tenant.id));
    expect(rows.map((r) => r.name)).toEqual(['edge']);
  });
});
