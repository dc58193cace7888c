/* eslint-disable @typescript-eslint/no-explicit-any -- EC2's XML read back as loose objects */
// The EC2 Query API above the driver (the in-memory hypervisor): requests
// signed as an AWS SDK signs them, answered in EC2's XML. With awscli and
// boto3 against a real server and real guests: server/ec2/aws-tools.test.ts.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../accounts/users';
import { accessKeys, auditLog, flavors, instances } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { drainJobs, setQuota, setUpCompute } from '../test/compute';
import { readEc2, signedEc2Request, type Key } from '../test/ec2';
import { addRole, callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import type { TenantSummary } from '../tenants/tenants';
import { handleEc2 } from './handler';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
let owner: SessionUser;
let tenant: TenantSummary;
let key: Key;
const ORIGIN = 'http://cirrus.test:3000';

const drain = () => drainJobs(t.db, t.url, hostId, driver);
async function ec2(params: Record<string, string>, opts: Parameters<typeof signedEc2Request>[3] & { as?: Key } = {}) {
  return readEc2(await handleEc2(await signedEc2Request(ORIGIN, opts.as ?? key, params, opts), t.db));
}
const errorOf = (r: { status: number; body: Record<string, any> }) => ({ status: r.status, code: r.body.Response?.Errors?.Error?.Code as string | undefined });
const instancesOf = (r: { body: Record<string, any> }) =>
  ((r.body.DescribeInstancesResponse?.reservationSet?.item ?? []) as any[]).flatMap((res) => res.instancesSet.item as any[]);

async function newKey(user: SessionUser, t2: TenantSummary): Promise<Key> {
  const made = await callerAs(t.db, user).accessKeys.create({ tenantId: t2.id, name: 'k' });
  return { accessKeyId: made.accessKeyId, secret: made.secret };
}

beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
  await t.db.insert(flavors).values({ name: 'c1.micro', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 }).onConflictDoNothing();
  owner = await makeUser(t.db);
  tenant = await makeTenant(t.db, owner, 'EC2 tenant');
  key = await newKey(owner, tenant);
});
afterAll(() => t.close());

describe('access keys', () => {
  it('shows the secret once, keeps it sealed, lists without it, and stops working when revoked', async () => {
    const api = callerAs(t.db, owner);
    const made = await api.accessKeys.create({ tenantId: tenant.id, name: 'ci' });
    expect(made.accessKeyId).toMatch(/^AKCR[A-Z2-7]{16}$/);
    expect(made.secret).toHaveLength(40);
    const listed = await api.accessKeys.list({ tenantId: tenant.id });
    expect(listed.find((k) => k.id === made.id)).toEqual(expect.not.objectContaining({ secret: expect.anything() }));
    const [row] = await t.db.select().from(accessKeys).where(eq(accessKeys.id, made.id));
    expect(row!.sealedSecret).not.toContain(made.secret);
    expect(Buffer.from(row!.sealedSecret, 'base64url').toString('latin1')).not.toContain(made.secret);

    const mine = { accessKeyId: made.accessKeyId, secret: made.secret };
    expect((await ec2({ Action: 'DescribeRegions' }, { as: mine })).status).toBe(200);
    await api.accessKeys.revoke({ tenantId: tenant.id, id: made.id });
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { as: mine }))).toEqual({ status: 401, code: 'AuthFailure' });
    expect((await api.accessKeys.list({ tenantId: tenant.id })).find((k) => k.id === made.id)?.revokedAt).toBeInstanceOf(Date);
  });

  it('marks a key used only once a signature made with it has matched, and refuses a body over 1 MiB however it is sent', async () => {
    const made = await callerAs(t.db, owner).accessKeys.create({ tenantId: tenant.id, name: 'probe' });
    const probe = { accessKeyId: made.accessKeyId, secret: made.secret };
    const lastUsed = async () => (await t.db.select().from(accessKeys).where(eq(accessKeys.id, made.id)))[0]!.lastUsedAt;
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { as: probe, secret: 'y'.repeat(40) }))).toEqual({ status: 401, code: 'AuthFailure' });
    expect(await lastUsed()).toBeNull();
    expect((await ec2({ Action: 'DescribeRegions' }, { as: probe })).status).toBe(200);
    expect(await lastUsed()).toBeInstanceOf(Date);

    // A chunked body (no Content-Length) larger than the cap is refused without being held whole.
    const big = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(64 * 1024).fill(0x61));
        c.close();
      },
    });
    const huge = new Request(`${ORIGIN}/api/ec2`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big, duplex: 'half' } as RequestInit);
    expect(errorOf(await readEc2(await handleEc2(huge, t.db)))).toEqual({ status: 400, code: 'InvalidParameterValue' });
  });

  it("keeps each user's keys their own, and a key stops working when its user leaves the tenant", async () => {
    const member = await makeUser(t.db);
    await addRole(t.db, tenant, member, 'member');
    const theirs = await newKey(member, tenant);
    const [row] = await t.db.select().from(accessKeys).where(eq(accessKeys.accessKeyId, theirs.accessKeyId));
    expect(await refusal(callerAs(t.db, owner).accessKeys.revoke({ tenantId: tenant.id, id: row!.id }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await callerAs(t.db, owner).accessKeys.list({ tenantId: tenant.id })).map((k) => k.accessKeyId)).not.toContain(theirs.accessKeyId);
    expect((await ec2({ Action: 'DescribeInstances' }, { as: theirs })).status).toBe(200);
    await callerAs(t.db, owner).tenants.members.remove({ tenantId: tenant.id, userId: member.id });
    expect(errorOf(await ec2({ Action: 'DescribeInstances' }, { as: theirs }))).toEqual({ status: 401, code: 'AuthFailure' });
  });

  it('refuses what is not signed right: no signature, a wrong secret, an old or future date, another region, a changed body', async () => {
    const unsigned = await handleEc2(new Request(`${ORIGIN}/api/ec2`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=DescribeRegions' }), t.db);
    expect(errorOf(await readEc2(unsigned))).toEqual({ status: 401, code: 'AuthFailure' });
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { secret: 'x'.repeat(40) }))).toEqual({ status: 401, code: 'AuthFailure' });
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { at: new Date(Date.now() - 16 * 60_000) }))).toEqual({ status: 400, code: 'RequestExpired' });
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { at: new Date(Date.now() + 16 * 60_000) }))).toEqual({ status: 400, code: 'RequestExpired' });
    // Fourteen minutes off is still within the window.
    expect((await ec2({ Action: 'DescribeRegions' }, { at: new Date(Date.now() - 14 * 60_000) })).status).toBe(200);
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { region: 'us-east-1' }))).toEqual({ status: 401, code: 'AuthFailure' });
    expect(errorOf(await ec2({ Action: 'DescribeRegions' }, { body: 'Action=TerminateInstances&InstanceId.1=i-00000000000000000' }))).toEqual({ status: 401, code: 'AuthFailure' });
    expect(errorOf(await ec2({ Action: 'LaunchRockets' }))).toEqual({ status: 400, code: 'InvalidAction' });
  });
});

describe('instances', () => {
  it('runs tagged instances, finds them by tag, stops, starts and terminates them, each state as EC2 names it', async () => {
    const run = await ec2({
      Action: 'RunInstances',
      ImageId: 'cirrus-tiny-linux',
      InstanceType: 'c1.micro',
      MinCount: '1',
      MaxCount: '2',
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.1.Tag.1.Key': 'Name',
      'TagSpecification.1.Tag.1.Value': 'web',
      'TagSpecification.1.Tag.2.Key': 'env',
      'TagSpecification.1.Tag.2.Value': 'prod',
    });
    expect(run.status).toBe(200);
    const launched = run.body.RunInstancesResponse.instancesSet.item as any[];
    expect(launched).toHaveLength(2);
    expect(launched[0]).toMatchObject({ instanceType: 'c1.micro', instanceState: { code: 0, name: 'pending' }, imageId: 'cirrus-tiny-linux', cpuOptions: { coreCount: 1 } });
    const ids = launched.map((i) => i.instanceId as string);
    // Launched as the key's user, audited like a launch from the console.
    const audited = await t.db.select().from(auditLog).where(eq(auditLog.targetId, ids[0]!));
    expect(audited).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'instance.launch', actorUserId: owner.id, tenantId: tenant.id })]));

    await drain();
    const byTag = await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'tag:env', 'Filter.1.Value.1': 'prod', 'Filter.2.Name': 'instance-state-name', 'Filter.2.Value.1': 'running' });
    expect(instancesOf(byTag).map((i) => i.instanceId).sort()).toEqual([...ids].sort());
    expect(instancesOf(byTag)[0].tagSet.item).toEqual(expect.arrayContaining([{ key: 'env', value: 'prod' }, { key: 'Name', value: 'web' }]));
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'tag:env', 'Filter.1.Value.1': 'dev' }))).toEqual([]);
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'tag:env', 'Filter.1.Value.1': 'pr*' }))).toHaveLength(2);
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'tag-key', 'Filter.1.Value.1': 'Name' }))).toHaveLength(2);

    const stop = await ec2({ Action: 'StopInstances', 'InstanceId.1': ids[0]! });
    expect(stop.body.StopInstancesResponse.instancesSet.item[0]).toMatchObject({ instanceId: ids[0], previousState: { name: 'running' }, currentState: { code: 64, name: 'stopping' } });
    await drain();
    // Stopping a stopped instance changes nothing, and says so.
    const again = await ec2({ Action: 'StopInstances', 'InstanceId.1': ids[0]! });
    expect(again.body.StopInstancesResponse.instancesSet.item[0]).toMatchObject({ previousState: { name: 'stopped' }, currentState: { code: 80, name: 'stopped' } });
    const start = await ec2({ Action: 'StartInstances', 'InstanceId.1': ids[0]! });
    expect(start.body.StartInstancesResponse.instancesSet.item[0]).toMatchObject({ currentState: { name: 'pending' } });
    await drain();
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'InstanceId.1': ids[0]! }))[0].instanceState).toEqual({ code: 16, name: 'running' });

    const term = await ec2({ Action: 'TerminateInstances', 'InstanceId.1': ids[0]!, 'InstanceId.2': ids[1]! });
    expect((term.body.TerminateInstancesResponse.instancesSet.item as any[]).map((i) => i.currentState.name)).toEqual(['shutting-down', 'shutting-down']);
    await drain();
    // Terminated instances are still described for an hour, as in EC2.
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'InstanceId.1': ids[0]! }))[0].instanceState).toEqual({ code: 48, name: 'terminated' });
    expect(errorOf(await ec2({ Action: 'StartInstances', 'InstanceId.1': ids[0]! }))).toEqual({ status: 400, code: 'IncorrectInstanceState' });
  });

  it("calls another tenant's instance not found, a bad id malformed, and a launch past the quota InstanceLimitExceeded", async () => {
    const other = await makeUser(t.db);
    const otherTenant = await makeTenant(t.db, other, 'Other');
    const theirs = await callerAs(t.db, other).instances.launch({ tenantId: otherTenant.id, name: 'theirs', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 });
    for (const Action of ['DescribeInstances', 'StopInstances', 'TerminateInstances', 'StartInstances', 'RebootInstances']) {
      expect(errorOf(await ec2({ Action, 'InstanceId.1': theirs.id }))).toEqual({ status: 400, code: 'InvalidInstanceID.NotFound' });
    }
    expect(errorOf(await ec2({ Action: 'CreateTags', 'ResourceId.1': theirs.id, 'Tag.1.Key': 'x', 'Tag.1.Value': 'y' }))).toEqual({ status: 400, code: 'InvalidInstanceID.NotFound' });
    expect(errorOf(await ec2({ Action: 'DescribeInstances', 'InstanceId.1': 'i-nope' }))).toEqual({ status: 400, code: 'InvalidInstanceID.Malformed' });

    const small = await makeTenant(t.db, owner, 'Small');
    await setQuota(t.db, small.id, { instances: 2 });
    const smallKey = await newKey(owner, small);
    const base = { Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: 'c1.micro' };
    const over = await ec2({ ...base, MinCount: '3', MaxCount: '3' }, { as: smallKey });
    expect(errorOf(over)).toEqual({ status: 400, code: 'InstanceLimitExceeded' });
    expect(over.body.Response.Errors.Error.Message).toMatch(/instances/i);
    // None of the three was kept.
    expect(instancesOf(await ec2({ Action: 'DescribeInstances' }, { as: smallKey }))).toEqual([]);
    // As many as fit when MinCount allows fewer.
    const some = await ec2({ ...base, MinCount: '1', MaxCount: '5' }, { as: smallKey });
    expect(some.body.RunInstancesResponse.instancesSet.item).toHaveLength(2);
    expect(errorOf(await ec2({ ...base, InstanceType: 'huge.metal' }, { as: smallKey }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ ...base, MinCount: '0' }, { as: smallKey }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'RunInstances', InstanceType: 'c1.micro' }, { as: smallKey }))).toEqual({ status: 400, code: 'MissingParameter' });
  });

  it('filters by instance type in the query, so a filtered page is full and its NextToken true', async () => {
    await t.db.insert(flavors).values({ name: 'c1.small', vcpus: 1, memoryMiB: 256, diskGiB: 1, nics: 1 }).onConflictDoNothing();
    const typed = await makeTenant(t.db, owner, 'Typed');
    const key = await newKey(owner, typed);
    const launch = async (type: string, n: number) =>
      ((await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: type, MinCount: String(n), MaxCount: String(n) }, { as: key })).body.RunInstancesResponse.instancesSet.item as any[]).map(
        (i) => i.instanceId as string,
      );
    // The other type first: a filter applied to the page after the fact would leave only 2 of the first 5.
    await launch('c1.small', 3);
    const micro = await launch('c1.micro', 7);
    const byType = { Action: 'DescribeInstances', MaxResults: '5', 'Filter.1.Name': 'instance-type', 'Filter.1.Value.1': 'c1.micro' };
    const first = await ec2(byType, { as: key });
    expect(instancesOf(first)).toHaveLength(5);
    const rest = await ec2({ ...byType, NextToken: first.body.DescribeInstancesResponse.nextToken as string }, { as: key });
    expect(rest.body.DescribeInstancesResponse.nextToken).toBeUndefined();
    expect([...instancesOf(first), ...instancesOf(rest)].map((i) => i.instanceId as string).sort()).toEqual([...micro].sort());
    expect(instancesOf(await ec2({ ...byType, 'Filter.1.Value.1': 'custom-1vcpu-384mib' }, { as: key }))).toEqual([]);
  });

  it('lets a viewer describe but not change, and pages with MaxResults and NextToken', async () => {
    const paged = await makeTenant(t.db, owner, 'Paged');
    const ownerKey = await newKey(owner, paged);
    const viewer = await makeUser(t.db);
    await addRole(t.db, paged, viewer, 'viewer');
    const viewerKey = await newKey(viewer, paged);
    const run = await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: 'c1.micro', MinCount: '7', MaxCount: '7' }, { as: ownerKey });
    const ids = (run.body.RunInstancesResponse.instancesSet.item as any[]).map((i) => i.instanceId as string);
    expect(errorOf(await ec2({ Action: 'TerminateInstances', 'InstanceId.1': ids[0]! }, { as: viewerKey }))).toEqual({ status: 403, code: 'UnauthorizedOperation' });

    const first = await ec2({ Action: 'DescribeInstances', MaxResults: '5' }, { as: viewerKey });
    const token = first.body.DescribeInstancesResponse.nextToken as string;
    expect(token).toBeTruthy();
    const second = await ec2({ Action: 'DescribeInstances', MaxResults: '5', NextToken: token }, { as: viewerKey });
    expect(second.body.DescribeInstancesResponse.nextToken).toBeUndefined();
    // Every one once: launched in one transaction, they share a creation time and are paged by id after it.
    const seen = [...instancesOf(first), ...instancesOf(second)].map((i) => i.instanceId as string);
    expect(instancesOf(first)).toHaveLength(5);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(errorOf(await ec2({ Action: 'DescribeInstances', MaxResults: '4' }, { as: viewerKey }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'DescribeInstances', NextToken: 'garbage!' }, { as: viewerKey }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'DescribeInstances', 'Filter.1.Name': 'flavor', 'Filter.1.Value.1': 'x' }, { as: viewerKey }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    // DryRun says whether it would be allowed, and changes nothing.
    expect(errorOf(await ec2({ Action: 'TerminateInstances', 'InstanceId.1': ids[0]!, DryRun: 'true' }, { as: ownerKey }))).toEqual({ status: 412, code: 'DryRunOperation' });
    expect(errorOf(await ec2({ Action: 'TerminateInstances', 'InstanceId.1': ids[0]!, DryRun: 'true' }, { as: viewerKey }))).toEqual({ status: 403, code: 'UnauthorizedOperation' });
  });

  it('creates, describes and deletes tags', async () => {
    const run = await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: 'c1.micro' });
    const id = run.body.RunInstancesResponse.instancesSet.item[0].instanceId as string;
    expect((await ec2({ Action: 'CreateTags', 'ResourceId.1': id, 'Tag.1.Key': 'team', 'Tag.1.Value': 'infra', 'Tag.2.Key': 'cost', 'Tag.2.Value': '42' })).status).toBe(200);
    const tags = await ec2({ Action: 'DescribeTags', 'Filter.1.Name': 'resource-id', 'Filter.1.Value.1': id });
    expect(tags.body.DescribeTagsResponse.tagSet.item).toEqual([
      { resourceId: id, resourceType: 'instance', key: 'cost', value: 42 },
      { resourceId: id, resourceType: 'instance', key: 'team', value: 'infra' },
    ]);
    await ec2({ Action: 'DeleteTags', 'ResourceId.1': id, 'Tag.1.Key': 'cost' });
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'InstanceId.1': id }))[0].tagSet.item).toEqual([{ key: 'team', value: 'infra' }]);
    // No Tag.N: every tag goes — those on the instance when its row is locked, even one added while the call waited for it.
    let deleting: Promise<unknown> | undefined;
    await t.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from instances where id = ${id} for update`);
      await tx.update(instances).set({ tags: { team: 'infra', late: 'yes' } }).where(eq(instances.id, id));
      deleting = ec2({ Action: 'DeleteTags', 'ResourceId.1': id });
      await new Promise((r) => setTimeout(r, 300)); // it reads and waits for the row meanwhile
    });
    expect((await deleting) as { status: number }).toMatchObject({ status: 200 });
    expect(instancesOf(await ec2({ Action: 'DescribeInstances', 'InstanceId.1': id }))[0].tagSet).toBe('');
    expect(errorOf(await ec2({ Action: 'CreateTags', 'ResourceId.1': id, 'Tag.1.Key': 'bad key!', 'Tag.1.Value': 'x' }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'CreateTags', 'ResourceId.1': 'vpc-1', 'Tag.1.Key': 'a' }))).toEqual({ status: 400, code: 'InvalidID' });
  });
});

describe('catalog and key pairs', () => {
  it('describes the region, its zone, images and instance types', async () => {
    expect((await ec2({ Action: 'DescribeRegions' })).body.DescribeRegionsResponse.regionInfo.item[0].regionName).toBe('cirrus-1');
    expect((await ec2({ Action: 'DescribeAvailabilityZones' })).body.DescribeAvailabilityZonesResponse.availabilityZoneInfo.item[0]).toMatchObject({ zoneName: 'cirrus-1a', zoneState: 'available' });
    const images = (await ec2({ Action: 'DescribeImages' })).body.DescribeImagesResponse.imagesSet.item as any[];
    expect(images.map((i) => i.imageId)).toContain('cirrus-tiny-linux');
    expect(errorOf(await ec2({ Action: 'DescribeImages', 'ImageId.1': 'ami-00000000000000000' }))).toEqual({ status: 400, code: 'InvalidAMIID.NotFound' });
    const types = (await ec2({ Action: 'DescribeInstanceTypes', 'InstanceType.1': 'c1.micro' })).body.DescribeInstanceTypesResponse.instanceTypeSet.item as any[];
    expect(types).toEqual([expect.objectContaining({ instanceType: 'c1.micro', vCpuInfo: expect.objectContaining({ defaultVCpus: 1 }), memoryInfo: { sizeInMiB: 128 } })]);
  });

  it('imports, creates, describes and deletes key pairs', async () => {
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';
    const imported = await ec2({ Action: 'ImportKeyPair', KeyName: 'laptop', PublicKeyMaterial: Buffer.from(pub).toString('base64') });
    expect(imported.body.ImportKeyPairResponse).toMatchObject({ keyName: 'laptop', keyFingerprint: expect.stringMatching(/^SHA256:/) });
    expect(errorOf(await ec2({ Action: 'ImportKeyPair', KeyName: 'laptop', PublicKeyMaterial: Buffer.from(pub).toString('base64') }))).toEqual({ status: 400, code: 'InvalidKeyPair.Duplicate' });
    expect(errorOf(await ec2({ Action: 'ImportKeyPair', KeyName: 'junk', PublicKeyMaterial: Buffer.from('not a key').toString('base64') }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    const made = await ec2({ Action: 'CreateKeyPair', KeyName: 'made' });
    expect(made.body.CreateKeyPairResponse.keyMaterial).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    const listed = (await ec2({ Action: 'DescribeKeyPairs' })).body.DescribeKeyPairsResponse.keySet.item as any[];
    expect(listed.map((k) => k.keyName)).toEqual(['laptop', 'made']);
    expect(errorOf(await ec2({ Action: 'DescribeKeyPairs', 'KeyName.1': 'nope' }))).toEqual({ status: 400, code: 'InvalidKeyPair.NotFound' });
    expect(errorOf(await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', KeyName: 'nope' }))).toEqual({ status: 400, code: 'InvalidKeyPair.NotFound' });
    await ec2({ Action: 'DeleteKeyPair', KeyName: 'made' });
    expect(((await ec2({ Action: 'DescribeKeyPairs' })).body.DescribeKeyPairsResponse.keySet.item as any[]).map((k) => k.keyName)).toEqual(['laptop']);
  });
});

describe('volumes, snapshots and networks', () => {
  it('creates a volume, attaches it to a running instance, refuses to delete it attached, detaches and deletes it', async () => {
    const vt = await makeTenant(t.db, owner, 'Volumes');
    const k = await newKey(owner, vt);
    const vm = (await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: 'c1.micro' }, { as: k })).body.RunInstancesResponse.instancesSet.item[0].instanceId as string;
    const made = await ec2({ Action: 'CreateVolume', Size: '2', AvailabilityZone: 'cirrus-1a', Iops: '4000', 'TagSpecification.1.ResourceType': 'volume', 'TagSpecification.1.Tag.1.Key': 'Name', 'TagSpecification.1.Tag.1.Value': 'data' }, { as: k });
    expect(made.body.CreateVolumeResponse).toMatchObject({ size: 2, status: 'creating', iops: 4000, throughput: 125, volumeType: 'gp3' });
    const volumeId = made.body.CreateVolumeResponse.volumeId as string;
    await drain();
    const described = async () => (await ec2({ Action: 'DescribeVolumes', 'VolumeId.1': volumeId }, { as: k })).body.DescribeVolumesResponse.volumeSet.item[0];
    expect(await described()).toMatchObject({ status: 'available', tagSet: { item: [{ key: 'Name', value: 'data' }] } });

    const attach = await ec2({ Action: 'AttachVolume', VolumeId: volumeId, InstanceId: vm, Device: '/dev/sdf' }, { as: k });
    expect(attach.body.AttachVolumeResponse).toMatchObject({ volumeId, instanceId: vm, status: 'attaching' });
    await drain();
    expect(await described()).toMatchObject({ status: 'in-use', attachmentSet: { item: [{ instanceId: vm, status: 'attached', device: `/dev/disk/by-id/virtio-${volumeId.replace('-', '')}` }] } });
    const byInstance = await ec2({ Action: 'DescribeVolumes', 'Filter.1.Name': 'attachment.instance-id', 'Filter.1.Value.1': vm }, { as: k });
    expect(byInstance.body.DescribeVolumesResponse.volumeSet.item.map((v: any) => v.volumeId)).toEqual([volumeId]);
    expect(errorOf(await ec2({ Action: 'DeleteVolume', VolumeId: volumeId }, { as: k }))).toEqual({ status: 400, code: 'IncorrectState' });

    expect((await ec2({ Action: 'DetachVolume', VolumeId: volumeId }, { as: k })).body.DetachVolumeResponse).toMatchObject({ volumeId, instanceId: vm, status: 'detaching' });
    await drain();
    expect(await described()).toMatchObject({ status: 'available', attachmentSet: '' });
    expect((await ec2({ Action: 'DeleteVolume', VolumeId: volumeId }, { as: k })).status).toBe(200);
    await drain();
    expect(errorOf(await ec2({ Action: 'DescribeVolumes', 'VolumeId.1': volumeId }, { as: k }))).toEqual({ status: 400, code: 'InvalidVolume.NotFound' });
  });

  it('refuses bad volume input, another tenant’s volume and a volume past the quota in EC2 words', async () => {
    const vt = await makeTenant(t.db, owner, 'Volume refusals');
    const k = await newKey(owner, vt);
    await setQuota(t.db, vt.id, { volumes: 1 });
    expect(errorOf(await ec2({ Action: 'CreateVolume', Size: '0' }, { as: k }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'CreateVolume', Size: '1', VolumeType: 'io2' }, { as: k }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'CreateVolume', Size: '1', Iops: '50' }, { as: k }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect((await ec2({ Action: 'CreateVolume', Size: '1' }, { as: k })).status).toBe(200);
    expect(errorOf(await ec2({ Action: 'CreateVolume', Size: '1' }, { as: k }))).toEqual({ status: 400, code: 'VolumeLimitExceeded' });
    const mine = (await ec2({ Action: 'DescribeVolumes' }, { as: k })).body.DescribeVolumesResponse.volumeSet.item[0].volumeId as string;
    expect(errorOf(await ec2({ Action: 'DescribeVolumes', 'VolumeId.1': mine }))).toEqual({ status: 400, code: 'InvalidVolume.NotFound' });
    expect(errorOf(await ec2({ Action: 'DeleteVolume', VolumeId: mine }))).toEqual({ status: 400, code: 'InvalidVolume.NotFound' });
    expect(errorOf(await ec2({ Action: 'DeleteVolume', VolumeId: 'vol-1' }))).toEqual({ status: 400, code: 'InvalidVolumeID.Malformed' });
  });

  it('snapshots an instance’s disk, makes a volume of the snapshot, deletes the snapshot; describes the networks as VPCs', async () => {
    const st = await makeTenant(t.db, owner, 'Snapshots');
    const k = await newKey(owner, st);
    const vm = (await ec2({ Action: 'RunInstances', ImageId: 'cirrus-tiny-linux', InstanceType: 'c1.micro' }, { as: k })).body.RunInstancesResponse.instancesSet.item[0].instanceId as string;
    await drain();
    const snap = await ec2({ Action: 'CreateSnapshots', 'InstanceSpecification.InstanceId': vm, Description: 'before upgrade' }, { as: k });
    const snapshotId = snap.body.CreateSnapshotsResponse.snapshotSet.item[0].snapshotId as string;
    expect(snapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    await drain();
    const listed = (await ec2({ Action: 'DescribeSnapshots', 'SnapshotId.1': snapshotId }, { as: k })).body.DescribeSnapshotsResponse.snapshotSet.item[0];
    expect(listed).toMatchObject({ snapshotId, status: 'completed', volumeSize: 1, progress: '100%' });
    const fromSnap = await ec2({ Action: 'CreateVolume', SnapshotId: snapshotId }, { as: k });
    expect(fromSnap.body.CreateVolumeResponse).toMatchObject({ snapshotId, size: 1 });
    await drain();
    expect((await ec2({ Action: 'DeleteSnapshot', SnapshotId: snapshotId }, { as: k })).status).toBe(200);
    expect(errorOf(await ec2({ Action: 'DescribeSnapshots', 'SnapshotId.1': snapshotId }))).toEqual({ status: 400, code: 'InvalidSnapshot.NotFound' });
    expect(errorOf(await ec2({ Action: 'CreateSnapshots', 'InstanceSpecification.InstanceId': vm }))).toEqual({ status: 400, code: 'InvalidInstanceID.NotFound' });

    const vpcs = (await ec2({ Action: 'DescribeVpcs' }, { as: k })).body.DescribeVpcsResponse.vpcSet.item as any[];
    expect(vpcs).toEqual([expect.objectContaining({ isDefault: true, state: 'available', cidrBlock: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/) })]);
    const subnets = (await ec2({ Action: 'DescribeSubnets' }, { as: k })).body.DescribeSubnetsResponse.subnetSet.item as any[];
    expect(subnets[0]).toMatchObject({ vpcId: vpcs[0].vpcId, cidrBlock: vpcs[0].cidrBlock, availabilityZone: 'cirrus-1a' });
    expect(errorOf(await ec2({ Action: 'DescribeVpcs', 'VpcId.1': 'vpc-00000000000000000' }, { as: k }))).toEqual({ status: 400, code: 'InvalidVpcID.NotFound' });

    // A VPC of its own: a tenant network with the range asked for; refused while an instance uses it.
    const made = await ec2({ Action: 'CreateVpc', CidrBlock: '10.77.0.0/24', 'TagSpecification.1.ResourceType': 'vpc', 'TagSpecification.1.Tag.1.Key': 'Name', 'TagSpecification.1.Tag.1.Value': 'backend' }, { as: k });
    expect(made.body.CreateVpcResponse.vpc).toMatchObject({ cidrBlock: '10.77.0.0/24', isDefault: false, tagSet: { item: [{ key: 'Name', value: 'backend' }] } });
    expect(errorOf(await ec2({ Action: 'CreateVpc', CidrBlock: '10.77.0.0/24' }, { as: k }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(errorOf(await ec2({ Action: 'CreateVpc', CidrBlock: 'not-a-range' }, { as: k }))).toEqual({ status: 400, code: 'InvalidParameterValue' });
    expect(((await ec2({ Action: 'DescribeVpcs' }, { as: k })).body.DescribeVpcsResponse.vpcSet.item as any[]).map((v) => v.cidrBlock)).toContain('10.77.0.0/24');
    expect((await ec2({ Action: 'DeleteVpc', VpcId: made.body.CreateVpcResponse.vpc.vpcId }, { as: k })).status).toBe(200);
    expect(errorOf(await ec2({ Action: 'DeleteVpc', VpcId: made.body.CreateVpcResponse.vpc.vpcId }, { as: k }))).toEqual({ status: 400, code: 'InvalidVpcID.NotFound' });
    expect(errorOf(await ec2({ Action: 'DeleteVpc', VpcId: vpcs[0].vpcId }, { as: k }))).toEqual({ status: 400, code: 'DependencyViolation' });
  });
});
