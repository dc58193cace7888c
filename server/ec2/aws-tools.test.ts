// The EC2 API driven by the tools people already use: Debian's awscli and
// python3-boto3, against the real server (production build) and real guests.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances } from '../db/schema';
import { setQuota } from '../test/compute';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { makeTenant, makeUser } from '../test/factories';
import { qemuProcessesFor, startServer, teardownHostNetwork, trpc, type ServerProcess } from '../test/server-process';
import { createToken } from '../tokens';

const run = promisify(execFile);
const AWS = '/usr/bin/aws';
const PYTHON = '/usr/bin/python3';

let t: TestDatabase;
let server: ServerProcess;
let dir: string;
let home: string;
let tenantId: string;
let otherTenantId: string;
let key: { accessKeyId: string; secret: string };
let otherInstance: string;
let apiToken: string;

/** awscli with this tenant's key and nothing from the machine's own AWS configuration. */
async function aws(args: string[], opts: { secret?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const env = {
    NODE_ENV: 'test' as const,
    PATH: '/usr/bin:/bin',
    HOME: home,
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.secret ?? key.secret,
    AWS_DEFAULT_REGION: 'cirrus-1',
    AWS_CONFIG_FILE: path.join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
  };
  try {
    const { stdout, stderr } = await run(AWS, ['ec2', ...args, '--endpoint-url', `${server.url}/api/ec2`, '--output', 'json'], { env, timeout: 240_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: err.stdout ?? '', err: err.stderr ?? '' };
  }
}
const json = async (args: string[]) => {
  const r = await aws(args);
  if (r.code !== 0) throw new Error(`aws ec2 ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out.trim() ? JSON.parse(r.out) : null;
};

beforeAll(async () => {
  t = await createTestDatabase();
  const owner = await makeUser(t.db);
  tenantId = (await makeTenant(t.db, owner, 'AWS tools')).id;
  await setQuota(t.db, tenantId, { instances: 2, volumes: 2 });
  const other = await makeUser(t.db);
  otherTenantId = (await makeTenant(t.db, other, 'Someone else')).id;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-aws-'));
  fs.chmodSync(dir, 0o711);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-aws-home-'));
  server = await startServer({ databaseUrl: t.url, dataDir: dir });
  // The key is made by the server, sealed with its data dir's key, as Settings → Access keys makes it.
  const token = (await createToken(t.db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 't' })).secret;
  apiToken = token;
  const made = await trpc<{ accessKeyId: string; secret: string }>(server.url, token, 'accessKeys.create', { tenantId, name: 'aws tools' });
  if (!made.ok) throw new Error(made.message);
  key = made.data;
  const otherToken = (await createToken(t.db, { kind: 'user', userId: other.id, email: other.email, isAdmin: false, requestId: 't' }, { name: 't' })).secret;
  const theirs = await trpc<{ id: string }>(server.url, otherToken, 'instances.launch', { tenantId: otherTenantId, name: 'theirs', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 });
  if (!theirs.ok) throw new Error(theirs.message);
  otherInstance = theirs.data.id;
}, 240_000);

afterAll(async () => {
  const all = await t.db.select().from(instances);
  await server?.stop();
  for (const r of all) for (const pid of qemuProcessesFor(r.id)) process.kill(pid, 'SIGKILL');
  if (dir) await teardownHostNetwork(dir);
  await t.close();
  for (const d of [dir, home]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

describe('awscli and boto3 against a real Cirrus', () => {
  it('aws ec2: run-instances → wait instance-running → describe by tag → stop → start → terminate; refusals in EC2 words', { timeout: 600_000 }, async () => {
    const launched = await json([
      'run-instances',
      '--image-id', 'cirrus-tiny-linux',
      '--instance-type', 'tiny',
      '--count', '1',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Name,Value=from-awscli},{Key=team,Value=infra}]',
    ]);
    const id = launched.Instances[0].InstanceId as string;
    expect(id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(launched.Instances[0]).toMatchObject({ ImageId: 'cirrus-tiny-linux', InstanceType: 'tiny', State: { Name: 'pending' } });

    expect((await aws(['wait', 'instance-running', '--instance-ids', id])).code).toBe(0);
    // The guest really runs: one QEMU for it, and its row says running.
    expect(qemuProcessesFor(id)).toHaveLength(1);
    const [row] = await t.db.select().from(instances).where(eq(instances.id, id));
    expect(row!.state).toBe('running');
    expect(row!.name).toBe('from-awscli');

    const byTag = await json(['describe-instances', '--filters', 'Name=tag:team,Values=infra', 'Name=instance-state-name,Values=running']);
    expect(byTag.Reservations.flatMap((r: { Instances: { InstanceId: string }[] }) => r.Instances.map((i) => i.InstanceId))).toEqual([id]);
    expect(byTag.Reservations[0].Instances[0].Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'infra' }]));
    expect((await json(['describe-instances', '--filters', 'Name=tag:team,Values=nobody'])).Reservations).toEqual([]);

    const stopped = await json(['stop-instances', '--instance-ids', id]);
    expect(stopped.StoppingInstances[0]).toMatchObject({ InstanceId: id, PreviousState: { Name: 'running' }, CurrentState: { Name: 'stopping' } });
    expect((await aws(['wait', 'instance-stopped', '--instance-ids', id])).code).toBe(0);
    expect(qemuProcessesFor(id)).toEqual([]);
    await json(['start-instances', '--instance-ids', id]);
    expect((await aws(['wait', 'instance-running', '--instance-ids', id])).code).toBe(0);

    // The quota holds 2 instances and one is running: three more are refused as EC2 refuses them.
    const over = await aws(['run-instances', '--image-id', 'cirrus-tiny-linux', '--instance-type', 'tiny', '--count', '3']);
    expect(over.code).not.toBe(0);
    expect(over.err).toMatch(/InstanceLimitExceeded/);
    const wrong = await aws(['describe-instances'], { secret: 'A'.repeat(40) });
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toMatch(/AuthFailure/);
    const theirs = await aws(['describe-instances', '--instance-ids', otherInstance]);
    expect(theirs.err).toMatch(/InvalidInstanceID\.NotFound/);
    expect((await aws(['terminate-instances', '--instance-ids', otherInstance])).err).toMatch(/InvalidInstanceID\.NotFound/);

    // A volume: created, hot-plugged into the running guest, unplugged and deleted, with awscli's own waiters.
    const vol = await json(['create-volume', '--size', '1', '--availability-zone', 'cirrus-1a', '--tag-specifications', 'ResourceType=volume,Tags=[{Key=Name,Value=scratch}]']);
    expect(vol).toMatchObject({ Size: 1, State: 'creating', VolumeType: 'gp3' });
    expect((await aws(['wait', 'volume-available', '--volume-ids', vol.VolumeId])).code).toBe(0);
    await json(['attach-volume', '--volume-id', vol.VolumeId, '--instance-id', id, '--device', '/dev/sdf']);
    expect((await aws(['wait', 'volume-in-use', '--volume-ids', vol.VolumeId])).code).toBe(0);
    const attached = await json(['describe-volumes', '--volume-ids', vol.VolumeId]);
    expect(attached.Volumes[0].Attachments).toEqual([expect.objectContaining({ InstanceId: id, State: 'attached' })]);
    expect((await aws(['delete-volume', '--volume-id', vol.VolumeId])).err).toMatch(/IncorrectState/);
    await json(['detach-volume', '--volume-id', vol.VolumeId]);
    expect((await aws(['wait', 'volume-available', '--volume-ids', vol.VolumeId])).code).toBe(0);
    expect((await aws(['delete-volume', '--volume-id', vol.VolumeId])).code).toBe(0);

    const gone = await json(['terminate-instances', '--instance-ids', id]);
    expect(gone.TerminatingInstances[0]).toMatchObject({ InstanceId: id, CurrentState: { Name: 'shutting-down' } });
    expect((await aws(['wait', 'instance-terminated', '--instance-ids', id])).code).toBe(0);
    expect(qemuProcessesFor(id)).toEqual([]);
  });

  it('boto3: launch, waiters, a tag filter, a paginator; a wrong secret, a 20-minute-old signature and another tenant’s id refused', { timeout: 600_000 }, async () => {
    const { stdout } = await run(PYTHON, [path.join(import.meta.dirname, 'testdata', 'boto3_session.py')], {
      env: { PATH: '/usr/bin:/bin', HOME: home, ENDPOINT: `${server.url}/api/ec2`, KEY_ID: key.accessKeyId, SECRET: key.secret, OTHER_INSTANCE: otherInstance, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(home, 'config'), NODE_ENV: 'test' },
      timeout: 300_000,
    });
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    const launched = seen.launched as string;
    expect(seen).toMatchObject({
      regions: ['cirrus-1'],
      by_tag: [launched],
      state: 'running',
      launch_time_is_datetime: true,
      wrong_secret: 'AuthFailure',
      other_tenant: 'InvalidInstanceID.NotFound',
      expired: 'RequestExpired',
      terminated: 'terminated',
    });
    // The paginator saw every instance of the tenant still listed, the boto3 one among them.
    expect(seen.paged).toContain(launched);
    const [row] = await t.db.select().from(instances).where(eq(instances.id, launched));
    expect(row).toMatchObject({ tenantId, name: 'boto', state: 'terminated', tags: { Name: 'boto', 'made-by': 'boto3' } });
  });

  it('REST: the served OpenAPI document validates, a call built from it works with a token, none without, and the reference page lists it', async () => {
    const doc = await (await fetch(`${server.url}/api/openapi.json`)).json();
    expect((await new Validator().validate(doc)).valid).toBe(true);
    expect(doc.servers[0].url).toBe(server.url);
    const list = doc.paths['/api/v1/instances/list'].get;
    const url = new URL(`${doc.servers[0].url}/api/v1/instances/list`);
    url.searchParams.set('tenantId', tenantId);
    url.searchParams.set('includeTerminated', 'true');
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['tenantId', 'includeTerminated']));
    const res = await fetch(url, { headers: { authorization: `Bearer ${apiToken}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()).items as { name: string }[]).map((i) => i.name)).toContain('from-awscli');
    const anon = await fetch(url);
    expect([anon.status, (await anon.json()).error.code]).toEqual([401, 'UNAUTHORIZED']);
    const page = await fetch(`${server.url}/docs/api`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/api/v1/instances/launch');
  });
});
