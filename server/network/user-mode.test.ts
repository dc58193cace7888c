// A host that may not create bridges (here: the server runs without
// CAP_NET_ADMIN) says so, and its launches still work: NICs fall back to QEMU
// user-mode networking, each instance says why, and what needs a tenant
// network (port forwards) is refused with the reason — never a failed launch.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances } from '../db/schema';
import { parseHardwareReport } from '../hypervisor/qemu/test-support';
import { setQuota } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { qemuProcessesFor, startServer, teardownHostNetwork, trpc, waitFor, type ServerProcess } from '../test/server-process';
import { createToken } from '../tokens';

let t: TestDatabase;
let server: ServerProcess;
let token: string;
let adminToken: string;
let tenantId: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-usernet-'));
fs.chmodSync(dataDir, 0o711);

// Drop CAP_NET_ADMIN from the bounding set: even as root, the server (and the QEMU it starts) cannot make bridges or taps.
const WRAP = ['setpriv', '--bounding-set=-net_admin'];
const canDrop = spawnSync(WRAP[0]!, [...WRAP.slice(1), 'true']).status === 0;

beforeAll(async () => {
  t = await createTestDatabase();
  const owner = await makeUser(t.db);
  const admin = await makeUser(t.db, { isAdmin: true });
  tenantId = (await makeTenant(t.db, owner)).id;
  await setQuota(t.db, tenantId, {});
  const actor = (u: typeof owner) => ({ kind: 'user' as const, userId: u.id, email: u.email, isAdmin: u.isAdmin, requestId: 't' });
  token = (await createToken(t.db, actor(owner), { name: 't' })).secret;
  adminToken = (await createToken(t.db, actor(admin), { name: 't' })).secret;
  server = await startServer({ databaseUrl: t.url, dataDir, wrap: canDrop ? WRAP : undefined, env: canDrop ? {} : { CIRRUS_NETWORK: 'user' } });
});

afterAll(async () => {
  await server?.stop();
  for (const r of await t.db.select({ id: instances.id }).from(instances)) for (const pid of qemuProcessesFor(r.id)) process.kill(pid, 'SIGKILL');
  await teardownHostNetwork(dataDir);
  await t.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a host without the right to build networks', { timeout: 120_000 }, () => {
  it('says so on the admin hosts page, launches with user-mode NICs that each say why, and refuses port forwards with the reason', async () => {
    const hosts = await trpc<{ networkMode: string; networkNote: string | null }[]>(server.url, adminToken, 'admin.hosts.list', {}, 'query');
    expect(hosts.ok && hosts.data).toEqual([
      expect.objectContaining({
        networkMode: 'user',
        networkNote: canDrop
          ? 'NICs use QEMU user-mode networking: Cirrus cannot create bridges and namespaces here (not root and without CAP_NET_ADMIN).'
          : 'NICs use QEMU user-mode networking: CIRRUS_NETWORK=user is set.',
      }),
    ]);

    const launched = await trpc<{ id: string }>(server.url, token, 'instances.launch', {
      tenantId,
      name: 'plain',
      imageId: 'cirrus-tiny-linux',
      vcpus: 1,
      memoryMiB: 128,
      diskGiB: 1,
      nics: 2,
    });
    expect(launched.ok).toBe(true);
    const id = launched.ok ? launched.data.id : '';
    await waitFor('running', () => t.db.select().from(instances), (rs) => rs.find((r) => r.id === id)?.state === 'running', 60_000);

    const nics = await trpc<{ name: string; mode: string; note: string | null; address: string | null }[]>(server.url, token, 'instances.interfaces', { tenantId, instanceId: id }, 'query');
    expect(nics.ok && nics.data.map((n) => [n.name, n.mode, n.note?.startsWith('NICs use QEMU user-mode networking')])).toEqual([
      ['eth0', 'user', true],
      ['eth1', 'user', true],
    ]);
    // The guest really has its two NICs, and QEMU's own DHCP answered both.
    const log = await waitFor(
      'the hardware report',
      async () => {
        const r = await trpc<{ text: string }>(server.url, token, 'instances.serialLog', { tenantId, instanceId: id }, 'query');
        return r.ok ? r.data.text : '';
      },
      (text) => parseHardwareReport(text) !== null,
      60_000,
    );
    expect(parseHardwareReport(log)).toMatchObject({ nics: 2, ips: ['10.0.2.15', '10.0.2.15'] });

    const fwd = await trpc(server.url, token, 'portForwards.create', { tenantId, instanceId: id, guestPort: 22 });
    expect(fwd.ok).toBe(false);
    expect(!fwd.ok && fwd.reason).toBe('INVALID_STATE');
    expect(!fwd.ok && fwd.message).toMatch(/^Port forwards need a tenant network; eth0 of plain uses user-mode networking\. NICs use QEMU user-mode networking: /);
    expect(server.output()).toMatch(/\[compute\] networks: user-mode only/);
  });
});
