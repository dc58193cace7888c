// The whole server, real QEMU guests: quotas across two server processes over
// HTTP, a kill -9 of the server mid-launch, mid-suspend, mid-snapshot,
// mid-attach and mid-resize, and a kill -9 of a guest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances, snapshots, usageSegments, volumes } from '../db/schema';
import { createToken } from '../tokens';
import { setQuota } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { guestLayout } from '../hypervisor/qemu/layout';
import { qemuProcessesFor, startServer, teardownHostNetwork, trpc, waitFor, type ServerProcess } from '../test/server-process';

let t: TestDatabase;
let token: string;
let tenantId: string;
const dirs: string[] = [];
const servers: ServerProcess[] = [];

const spec = { imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 };
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-srv-'));
  fs.chmodSync(d, 0o711);
  dirs.push(d);
  return d;
};
async function server(dir = dataDir(), env?: Record<string, string>) {
  const s = await startServer({ databaseUrl: t.url, dataDir: dir, env });
  servers.push(s);
  return s;
}
const rows = () => t.db.select().from(instances).where(eq(instances.tenantId, tenantId));

/** Terminate every live instance through the API and wait until their guests are gone. */
async function terminateAll(url: string) {
  for (const r of await rows()) {
    if (r.state !== 'terminated' && r.state !== 'terminating') await trpc(url, token, 'instances.terminate', { tenantId, instanceId: r.id });
  }
  await waitFor('all terminated', rows, (rs) => rs.every((r) => r.state === 'terminated'), 60_000);
  for (const r of await rows()) expect(qemuProcessesFor(r.id)).toEqual([]);
}

beforeAll(async () => {
  t = await createTestDatabase();
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  tenantId = tenant.id;
  token = (await createToken(t.db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: 't' })).secret;
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  // Nothing may outlive the tests: kill any guest of this tenant that is still there.
  for (const r of await rows()) for (const pid of qemuProcessesFor(r.id)) process.kill(pid, 'SIGKILL');
  for (const d of dirs) await teardownHostNetwork(d);
  await t.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('real guests through the real server', { timeout: 300_000 }, () => {
  it('instances keep running through kill -9 of the server and a restart 30 s later; the ledger has no gap and no double count', async () => {
    await setQuota(t.db, tenantId, {});
    const dir = dataDir();
    const first = await server(dir);
    const launched = await Promise.all(
      Array.from({ length: 2 }, (_, i) => trpc<{ id: string }>(first.url, token, 'instances.launch', { tenantId, ...spec, name: `steady-${i}` })),
    );
    const ids = launched.map((r) => (r.ok ? r.data.id : ''));
    await waitFor('running', rows, (rs) => ids.every((id) => rs.find((r) => r.id === id)?.state === 'running'), 60_000);
    const pidsBefore = ids.map((id) => qemuProcessesFor(id));
    const killedAt = Date.now();
    await first.kill9();
    await new Promise((r) => setTimeout(r, 30_000));
    const second = await server(dir);
    await new Promise((r) => setTimeout(r, 4_000)); // a few reconciler sweeps
    for (const [i, id] of ids.entries()) {
      expect(qemuProcessesFor(id)).toEqual(pidsBefore[i]); // the same guest process, untouched
      expect((await rows()).find((r) => r.id === id)?.state).toBe('running');
      const segs = await t.db.select().from(usageSegments).where(eq(usageSegments.instanceId, id));
      for (const resource of ['vcpu', 'memory_mib', 'disk_gib', 'nic'] as const) {
        const mine = segs.filter((s) => s.resource === resource);
        expect(mine, `${id} ${resource}`).toHaveLength(1); // one segment: no gap, no double
        expect(mine[0]!.endedAt).toBeNull();
        expect(mine[0]!.startedAt.getTime()).toBeLessThan(killedAt);
      }
    }
    await terminateAll(second.url);
    await second.stop();
  });

  it('two servers on one database: 50 concurrent launches over HTTP, exactly 5 accepted, then vCPU and memory limits', async () => {
    const [a, b] = await Promise.all([server(), server()]);
    for (const [limit, perLaunch, expected] of [
      [{ instances: 5, vcpus: 100, memoryMiB: 100_000 }, spec, 5],
      [{ instances: 100, vcpus: 8, memoryMiB: 100_000 }, { ...spec, vcpus: 2 }, 4],
      [{ instances: 100, vcpus: 100, memoryMiB: 640 }, spec, 5],
    ] as const) {
      await setQuota(t.db, tenantId, limit);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => trpc((i % 2 ? a : b)!.url, token, 'instances.launch', { tenantId, ...perLaunch, name: `burst-${i}` })),
      );
      const accepted = results.filter((r) => r.ok);
      const refused = results.filter((r) => !r.ok);
      expect(accepted).toHaveLength(expected);
      expect(refused.every((r) => !r.ok && r.reason === 'QUOTA_EXCEEDED' && r.status === 403)).toBe(true);
      const live = (await rows()).filter((r) => r.state !== 'terminated' && r.state !== 'terminating');
      const quota = await trpc<{ resource: string; used: number }[]>(a!.url, token, 'quotas.get', { tenantId }, 'query');
      expect(quota.ok && quota.data.find((q) => q.resource === 'vcpus')?.used).toBe(live.reduce((s, r) => s + r.vcpus, 0));
      expect(quota.ok && quota.data.find((q) => q.resource === 'instances')?.used).toBe(live.length);
      // Both hosts took part, and every accepted launch really boots.
      await waitFor('accepted instances running', rows, (rs) => rs.filter((r) => r.state === 'running').length === expected, 120_000);
      for (const r of (await rows()).filter((x) => x.state === 'running')) expect(qemuProcessesFor(r.id)).toHaveLength(1);
      await terminateAll(a!.url);
    }
    await Promise.all([a!.stop(), b!.stop()]);
  });

  it('kill -9 of the server mid-launch converges after a restart; kill -9 of a guest shows it stopped within 5 s', async () => {
    await setQuota(t.db, tenantId, {});
    const dir = dataDir();
    const first = await server(dir);
    const launched = await Promise.all(Array.from({ length: 5 }, (_, i) => trpc<{ id: string }>(first.url, token, 'instances.launch', { tenantId, ...spec, name: `crash-${i}` })));
    expect(launched.every((r) => r.ok)).toBe(true);
    const ids = launched.map((r) => (r.ok ? r.data.id : ''));
    await first.kill9();

    const second = await server(dir);
    const settled = await waitFor(
      'every instance running or in error',
      async () => (await rows()).filter((r) => ids.includes(r.id)),
      (rs) => rs.every((r) => r.state === 'running' || (r.state === 'error' && !!r.stateReason)),
      60_000,
    ).catch(async (err: Error) => {
      const jobs = await t.db.execute('select id, task_identifier, queue_name, attempts, max_attempts, locked_by, locked_at, run_at, last_error from graphile_worker.jobs');
      const queues = await t.db.execute('select * from graphile_worker._private_job_queues');
      throw new Error(
        `${err.message}\n--- jobs ---\n${JSON.stringify(jobs.rows)}\n${JSON.stringify(queues.rows)}\n--- server after restart ---\n${second.output()}`,
      );
    });
    for (const r of settled) expect(qemuProcessesFor(r.id)).toHaveLength(r.state === 'running' ? 1 : 0);
    expect(settled.filter((r) => r.state === 'running').length).toBeGreaterThan(0);

    const victim = settled.find((r) => r.state === 'running')!;
    const [pid] = qemuProcessesFor(victim.id);
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    const stopped = await waitFor('the victim stopped', async () => (await rows()).find((r) => r.id === victim.id)!, (r) => r.state === 'stopped', 5_000);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(stopped.stateReason).toMatch(/killed|no longer running|crashed/);

    await terminateAll(second.url);
    // Its host must not take the next test's launches (placement picks any live host with room).
    await second.stop();
  });

  it('kill -9 of the server during a suspend and during a resume converges after a restart: the same guest, one saved state, a ledger without gap or overlap', async () => {
    await setQuota(t.db, tenantId, {});
    const dir = dataDir();
    let srv = await server(dir);
    const launched = await trpc<{ id: string }>(srv.url, token, 'instances.launch', { tenantId, ...spec, memoryMiB: 512, name: 'sleeper' });
    if (!launched.ok) throw new Error('launch refused');
    const id = launched.data.id;
    const row = async () => (await rows()).find((r) => r.id === id)!;
    await waitFor('running', row, (r) => r.state === 'running', 60_000);
    const guestDir = path.join(dir, 'guests', id);
    const serialLog = guestLayout(path.join(dir, 'guests'), id).serialLog;
    // Read it only once QEMU has made it.
    await waitFor('booted', async () => (fs.existsSync(serialLog) ? fs.readFileSync(serialLog, 'utf8') : ''), (log) => log.includes('CIRRUS-READY'), 60_000);

    const asked = await trpc(srv.url, token, 'instances.suspend', { tenantId, instanceId: id });
    expect(asked).toMatchObject({ ok: true });
    await srv.kill9();
    srv = await server(dir);
    const suspended = await waitFor('suspended after the restart', row, (r) => r.state === 'suspended', 60_000);
    expect(qemuProcessesFor(id)).toEqual([]);
    expect(fs.existsSync(path.join(guestDir, 'saved.state'))).toBe(true);
    expect(fs.existsSync(path.join(guestDir, 'saved.state.partial'))).toBe(false);
    expect(suspended.savedStateMiB).toBeGreaterThan(0);

    expect(await trpc(srv.url, token, 'instances.resume', { tenantId, instanceId: id })).toMatchObject({ ok: true });
    await srv.kill9();
    srv = await server(dir);
    await waitFor('running after the restart', row, (r) => r.state === 'running', 60_000);
    expect(qemuProcessesFor(id)).toHaveLength(1);
    expect(fs.existsSync(path.join(guestDir, 'saved.state'))).toBe(false);
    // Resumed, not rebooted: the guest said it was ready once, in its only boot.
    const log = fs.readFileSync(serialLog, 'utf8');
    expect(log.split('CIRRUS-READY').length - 1).toBe(1);

    const segs = await t.db.select().from(usageSegments).where(eq(usageSegments.instanceId, id));
    const of = (r: string) => segs.filter((s) => s.resource === r).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    // Compute: a run before the suspend, a run after it, not overlapping; the state: one closed segment between them.
    expect(of('vcpu')).toHaveLength(2);
    expect(of('vcpu')[0]!.endedAt).not.toBeNull();
    expect(of('vcpu')[1]!.endedAt).toBeNull();
    const saved = of('saved_state_mib');
    expect(saved).toHaveLength(1);
    expect(saved[0]!.quantity).toBe(suspended.savedStateMiB);
    expect(saved[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(of('vcpu')[0]!.endedAt!.getTime());
    expect(saved[0]!.endedAt!.getTime()).toBeLessThanOrEqual(of('vcpu')[1]!.startedAt.getTime());
    expect(of('disk_gib')).toHaveLength(1);

    // A snapshot with memory, and the server killed while its memory is being written (slowly, so
    // that the kill lands in the middle): after the restart it is available (or failed, saying
    // why), never left half-made, and the guest runs on.
    await srv.stop();
    srv = await server(dir, { CIRRUS_STATE_SAVE_MIBPS: '8' });
    const snap = await trpc<{ id: string }>(srv.url, token, 'snapshots.create', { tenantId, instanceId: id, name: 'mid-crash', withMemory: true });
    if (!snap.ok) throw new Error(`snapshot refused: ${snap.message}`);
    const snapRow = async () => (await t.db.select().from(snapshots).where(eq(snapshots.id, snap.data.id)))[0]!;
    await waitFor('its memory being written', snapRow, (s) => s.state === 'creating' && (s.progress?.doneBytes ?? 0) > 0, 60_000);
    await srv.kill9();
    srv = await server(dir);
    const restartedAt = Date.now();
    const settled = await waitFor(
      'the snapshot settled',
      snapRow,
      (s) => s.state === 'available' || s.state === 'error',
      60_000,
    );
    console.log(`[real guests] the snapshot settled ${Date.now() - restartedAt} ms after the restart: ${settled.state}`);
    const chain = JSON.parse(fs.readFileSync(path.join(guestDir, 'disks.json'), 'utf8')) as { snapshots: Record<string, { stateFile: string | null }> };
    expect(Boolean(chain.snapshots[snap.data.id])).toBe(settled.state === 'available');
    if (settled.state === 'available') expect(settled.diskBytes).toBeGreaterThan(0);
    else expect(settled.stateReason).toBeTruthy();
    expect(fs.readdirSync(guestDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    await waitFor('running', row, (r) => r.state === 'running', 30_000);
    expect(qemuProcessesFor(id)).toHaveLength(1);

    await terminateAll(srv.url);
    await srv.stop();
  });

  it('kill -9 of the server during a volume attach and during a resize converges: the volume is in use and QEMU has its file open, the disk is its new size, the ledger splits once', async () => {
    await setQuota(t.db, tenantId, {});
    const dir = dataDir();
    let srv = await server(dir);
    const call = async <T>(p: string, input: Record<string, unknown>) => {
      const r = await trpc<T>(srv.url, token, p, { tenantId, ...input });
      if (!r.ok) throw new Error(`${p}: ${r.message}`);
      return r.data;
    };
    const { id } = await call<{ id: string }>('instances.launch', { ...spec, name: 'holder' });
    const row = async () => (await rows()).find((r) => r.id === id)!;
    await waitFor('running', row, (r) => r.state === 'running', 60_000);
    const vol = await call<{ id: string }>('volumes.create', { name: 'crash-attach', sizeGiB: 1 });
    const volRow = async () => (await t.db.select().from(volumes).where(eq(volumes.id, vol.id)))[0]!;
    await waitFor('the volume made', volRow, (v) => v.state === 'available', 30_000);
    const file = path.join(dir, 'volumes', `${vol.id}.qcow2`);
    // Which files the guest's QEMU has open: what it really has attached.
    const qemuOpens = (f: string) =>
      qemuProcessesFor(id).some((pid) => fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === f;
        } catch {
          return false;
        }
      }));

    await call('volumes.attach', { volumeId: vol.id, instanceId: id });
    await srv.kill9();
    srv = await server(dir);
    expect(await waitFor('in use after the restart', volRow, (v) => v.state === 'in-use' || v.state === 'available', 60_000)).toMatchObject({ state: 'in-use', instanceId: id });
    expect(await waitFor('QEMU has it open', () => qemuOpens(file), Boolean, 30_000)).toBe(true);

    await call('instances.resize', { instanceId: id, diskGiB: 2 });
    await srv.kill9();
    srv = await server(dir);
    expect(await waitFor('resized after the restart', row, (r) => r.state === 'running' && r.diskGiB === 2, 60_000)).toMatchObject({ diskGiB: 2, stateReason: null });
    expect(qemuProcessesFor(id)).toHaveLength(1);
    const disk = (await t.db.select().from(usageSegments).where(eq(usageSegments.instanceId, id)))
      .filter((s) => s.resource === 'disk_gib')
      .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    expect(disk.map((s) => [s.quantity, s.endedAt === null])).toEqual([[1, false], [2, true]]);
    expect(disk[0]!.endedAt!.getTime()).toBe(disk[1]!.startedAt.getTime());
    // Still attached through it all; detached, QEMU lets go of the file.
    expect(qemuOpens(file)).toBe(true);
    await call('volumes.detach', { volumeId: vol.id });
    await waitFor('detached', volRow, (v) => v.state === 'available', 60_000);
    expect(qemuOpens(file)).toBe(false);
    await terminateAll(srv.url);
    await call('volumes.delete', { volumeId: vol.id });
    await waitFor('its file gone', async () => fs.existsSync(file), (there) => !there, 30_000);
    await srv.stop();
  });
});
