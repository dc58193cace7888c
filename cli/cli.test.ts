// The `cirrus` CLI as a user runs it (`node cli/bin.mjs …`, a child process
// with its own config file) against the real server (production build) and
// real QEMU guests: sign in, launch and wait, list, refusals with their exit
// codes, the console, stop, terminate.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../server/db/embedded';
import { hosts, instances } from '../server/db/schema';
import { setQuota } from '../server/test/compute';
import { createTestDatabase, type TestDatabase } from '../server/test/db';
import { makeTenant, makeUser } from '../server/test/factories';
import { qemuProcessesFor, repoRoot, startServer, teardownHostNetwork, trpc, waitFor, type ServerProcess } from '../server/test/server-process';
import { createToken } from '../server/tokens';

const BIN = path.join(repoRoot, 'cli', 'bin.mjs');

let t: TestDatabase;
let server: ServerProcess;
let dir: string;
let home: string;
let config: string;
let token: string;
let tenant: { id: string; slug: string };
let vm: string;

type Run = { code: number; out: string; err: string };

/** The CLI in a child process: argv array, no shell, nothing of this machine's CIRRUS_* settings. */
function cirrus(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: { NODE_ENV: 'test' as const, PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CIRRUS_CONFIG: config, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 280_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    child.stdin.end(opts.stdin ?? '');
  });
}
const json = (r: Run) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out);
};
const rows = () => t.db.select().from(instances).where(eq(instances.tenantId, tenant.id));

beforeAll(async () => {
  t = await createTestDatabase();
  const owner = await makeUser(t.db);
  tenant = await makeTenant(t.db, owner, 'CLI tests');
  await setQuota(t.db, tenant.id, { instances: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-cli-srv-'));
  fs.chmodSync(dir, 0o711);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-cli-home-'));
  config = path.join(home, 'cfg', 'cirrus', 'config.json');
  server = await startServer({ databaseUrl: t.url, dataDir: dir });
  token = (await createToken(t.db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 'cli' })).secret;
}, 240_000);

afterAll(async () => {
  await server?.stop();
  // Nothing may outlive the tests: kill any guest of this tenant that is still there.
  if (t) for (const r of await rows()) for (const pid of qemuProcessesFor(r.id)) process.kill(pid, 'SIGKILL');
  if (dir) await teardownHostNetwork(dir);
  await t?.close();
  for (const d of [dir, home]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

describe('the cirrus CLI against a real server', { timeout: 300_000 }, () => {
  it('refuses a bad token (3) and saves a good one, read from stdin, 0600 in a 0700 directory', async () => {
    const bad = await cirrus(['login', '--url', server.url, '--token', `cirrus_${'x'.repeat(43)}`]);
    expect(bad.code).toBe(3);
    expect(bad.err).toBe(`cirrus: The server at ${server.url} refused that token: it may be revoked or mistyped. Make one in Settings → API tokens.\n`);
    expect(fs.existsSync(config)).toBe(false);

    const login = await cirrus(['login', '--url', `${server.url}/`, '--output', 'json'], { stdin: `${token}\n` });
    expect(json(login)).toMatchObject({ url: server.url, tenant: tenant.slug, config });
    expect(login.out + login.err).not.toContain(token);
    expect(fs.statSync(config).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(config)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(config, 'utf8'))).toEqual({ url: server.url, token, tenant: tenant.slug });

    // The environment overrides the file: a refused token there is exit 3 too.
    const envBad = await cirrus(['instances', 'ls'], { env: { CIRRUS_TOKEN: 'cirrus_nope' } });
    expect(envBad.code).toBe(3);
    expect(envBad.err).toMatch(/^cirrus: The server refused the token/);
  });

  it('launches and waits for running, with progress on stderr; lists it as JSON and as a table', async () => {
    // An auto-recover instance keeps its disk on a shared pool, and this server's host has none: refused, in the server's words.
    const noPool = await cirrus(['instances', 'launch', '--name', 'cli-vm', '--image', 'cirrus-tiny-linux', '--flavor', 'tiny', '--auto-recover']);
    expect(noPool.code).not.toBe(0);
    expect(noPool.err).toMatch(/^cirrus: No host with a shared pool is accepting new instances right now/);
    const r = await cirrus(['instances', 'launch', '--name', 'cli-vm', '--image', 'cirrus-tiny-linux', '--flavor', 'tiny', '--tag', 'made-by=cli', '--spread-group', 'web', '--wait', '--output', 'json']);
    const launched = json(r);
    vm = launched.id;
    expect(launched).toMatchObject({ name: 'cli-vm', state: 'running', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 256, diskGiB: 1, tags: { 'made-by': 'cli' }, spreadGroup: 'web', autoRecover: false });
    expect(r.err).toContain(`${vm}  running  (`);
    expect(r.err).not.toContain('\x1b'); // no spinner off a terminal
    expect(qemuProcessesFor(vm)).toHaveLength(1);

    const listed = json(await cirrus(['instances', 'ls', '--output', 'json']));
    expect(listed.map((i: { id: string }) => i.id)).toContain(vm);

    const table = await cirrus(['instances', 'ls', '--output', 'table']);
    expect(table.code).toBe(0);
    const [header, ...lines] = table.out.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+STATE\s+IMAGE\s+VCPUS\s+MEMORY\s+DISK\s+CREATED$/);
    expect(lines.find((l) => l.startsWith(vm))).toMatch(/cli-vm\s+running\s+cirrus-tiny-linux\s+1\s+256 MiB\s+1 GiB/);

    // By name, when one live instance has it.
    expect(json(await cirrus(['instances', 'get', 'cli-vm', '--output', 'json'])).id).toBe(vm);
  });

  it('exits 5 with the server’s sentence over the quota, 4 for an unknown id, 2 for bad usage, 8 when unreachable', async () => {
    const spec = { tenantId: tenant.id, name: 'second', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 256, diskGiB: 1, nics: 1 };
    const direct = await trpc(server.url, token, 'instances.launch', spec);
    expect(direct.ok === false && direct.reason).toBe('QUOTA_EXCEEDED');
    const over = await cirrus(['instances', 'launch', '--name', 'second', '--image', 'cirrus-tiny-linux', '--vcpus', '1', '--memory', '256', '--disk', '1']);
    expect(over.code).toBe(5);
    expect(over.err).toBe(`cirrus: ${direct.ok === false ? direct.message : ''}\n`);

    const unknown = await cirrus(['instances', 'get', 'i-00000000000000000']);
    expect(unknown).toMatchObject({ code: 4, err: 'cirrus: Instance i-00000000000000000 was not found.\n' });
    expect((await cirrus(['instances', 'stop', 'no-such-vm'])).code).toBe(4);

    const usage = await cirrus(['instances', 'launch', '--name', 'x', '--image', 'cirrus-tiny-linux']);
    expect(usage.code).toBe(2);
    expect(usage.err).toBe('cirrus: Give a size: --flavor <name> (tiny, small, medium, large) or all of --vcpus, --memory and --disk.\n');
    const badInput = await cirrus(['instances', 'launch', '--name', '!bad', '--image', 'cirrus-tiny-linux', '--flavor', 'tiny']);
    expect(badInput.code).toBe(2);
    expect(badInput.err).toMatch(/^cirrus: name: Use letters, digits/);

    const closed = await freePort();
    const down = await cirrus(['instances', 'ls'], { env: { CIRRUS_URL: `http://127.0.0.1:${closed}` } });
    expect(down).toMatchObject({ code: 8, err: `cirrus: Cannot reach the Cirrus server at http://127.0.0.1:${closed}: connection refused.\n` });
    const notCirrus = await cirrus(['instances', 'ls'], { env: { CIRRUS_URL: `${server.url}/not-here` } });
    expect(notCirrus.code).toBe(8);
    expect(notCirrus.err).toMatch(/did not answer as a Cirrus server \(HTTP 404/);

    // Starting a running instance is the wrong state: 6, in the server's words.
    const wrong = await cirrus(['instances', 'start', vm]);
    expect(wrong.code).toBe(6);
    expect(wrong.err).toMatch(/^cirrus: cli-vm \(i-[0-9a-f]{17}\): A running instance cannot be started/);
  });

  it('prints the serial console and says where the graphical one is; ssh says what is missing', async () => {
    await waitFor('boot output', () => trpc<{ text: string }>(server.url, token, 'instances.serialLog', { tenantId: tenant.id, instanceId: vm }, 'query'), (r) => r.ok && r.data.text.includes('Linux'), 120_000);
    const log = await cirrus(['instances', 'console', vm]);
    expect(log.code).toBe(0);
    expect(log.out).toContain('Linux');
    expect(log.out).not.toContain('\x1b');
    expect(log.err).toContain(`Graphical console: ${server.url}/t/${tenant.slug}/instances/${vm}/console`);

    const noUser = await cirrus(['instances', 'ssh', vm]);
    expect(noUser.code).toBe(6);
    expect(noUser.err).toBe(`cirrus: Cirrus Tiny Linux has no SSH login user: use \`cirrus instances console ${vm}\`, or give --user if you added one.\n`);
    const noForward = await cirrus(['instances', 'ssh', vm, '--user', 'root', '--print']);
    expect(noForward.code).toBe(6);
    expect(noForward.err).toMatch(/^cirrus: No host port reaches port 22 of cli-vm .*Add a port forward to port 22/);

    // --forward makes the forward where the host builds tenant networks; a user-mode host says why it cannot.
    const made = await cirrus(['instances', 'ssh', vm, '--user', 'root', '--forward', '--print', '--output', 'json', '--', 'uptime']);
    const [host] = await t.db.select({ mode: hosts.networkMode }).from(hosts).where(eq(hosts.id, (await rows())[0]!.hostId!));
    if (host!.mode === 'bridged') {
      const listed = await trpc<{ hostPort: number; guestPort: number }[]>(server.url, token, 'portForwards.list', { tenantId: tenant.id, instanceId: vm }, 'query');
      const f = listed.ok ? listed.data[0] : undefined;
      expect(f).toMatchObject({ guestPort: 22 });
      expect(json(made)).toEqual({ argv: ['ssh', '-p', String(f!.hostPort), '-o', `HostKeyAlias=${vm}`, '-o', 'ConnectionAttempts=10', 'root@localhost', 'uptime'] });
      expect(made.err).toContain(`Forwarded host port ${f!.hostPort} to port 22 of cli-vm`);
    } else {
      expect(made.code).toBe(6);
    }
  });

  it('stops and terminates with --wait; no QEMU process is left', async () => {
    const stopped = json(await cirrus(['instances', 'stop', vm, '--wait', '--output', 'json']));
    expect(stopped).toEqual([expect.objectContaining({ id: vm, state: 'stopped' })]);
    expect(qemuProcessesFor(vm)).toEqual([]);

    const done = await cirrus(['instances', 'terminate', vm, '--wait', '--timeout', '120', '--output', 'json']);
    expect(json(done)).toEqual([expect.objectContaining({ id: vm, state: 'terminated' })]);
    expect(done.err).toContain(`${vm}  terminated  (`);
    expect(qemuProcessesFor(vm)).toEqual([]);
    expect(json(await cirrus(['instances', 'ls', '--output', 'json'])).map((i: { id: string }) => i.id)).not.toContain(vm);
    expect(json(await cirrus(['instances', 'ls', '--all', '--output', 'json'])).find((i: { id: string }) => i.id === vm)?.state).toBe('terminated');
  });

  it('forgets the token on logout', async () => {
    const out = await cirrus(['logout']);
    expect(out.code).toBe(0);
    expect(fs.existsSync(config)).toBe(false);
    expect((await cirrus(['instances', 'ls'])).code).toBe(3);
  });
});
