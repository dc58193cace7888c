// Host isolation on real guests: each QEMU runs as a user of its own with no
// capabilities and QEMU's whole seccomp filter, in a cgroup of its own with
// its CPU ceiling, weight and memory limit; one guest's user cannot read
// another's disk or the server's data; two guests burning CPU share it in
// proportion to the vCPUs they bought; and a restarted server finds them
// where it left them.
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCgroups, GROUP_PARENT } from '../isolation/cgroups';
import { findSetpriv, isGuestUid, processesOfUid } from '../isolation/users';
import { macAddress } from '../spec';
import type { GuestSpec } from '../types';
import { ImageCatalog } from '../images/catalog';
import { buildQemuArgs } from './args';
import { QemuDriver } from './driver';
import { startQemu, waitForPidFile } from './process';
import { guestLayout } from './layout';
import { eventually, guestShell, testImagesDir } from './test-support';

const run = promisify(execFile);
const BOOT_MS = 90_000;
const MiB = 1024 * 1024;
const host = findCgroups();
// Set before the guests start: what a server keeps in its environment (DATABASE_URL, NEXTAUTH_SECRET) must not reach QEMU.
const SERVER_SECRET = `cirrus-test-${crypto.randomBytes(8).toString('hex')}`;
process.env.CIRRUS_TEST_SERVER_SECRET = SERVER_SECRET;
const GUEST_CPU = String(os.cpus().length - 1);
const isRoot = process.geteuid?.() === 0;

const tap = `ct1${crypto.randomBytes(6).toString('hex')}`;
const guest = (id: string, vcpus: number, memoryMiB: number, taps: (string | null)[] = [null]): GuestSpec => ({
  id,
  vcpus,
  memoryMiB,
  maxMemoryMiB: 384,
  diskGiB: 1,
  nics: taps.map((t, i) => ({ mac: macAddress(id, i), tap: t })),
  image: 'cirrus-tiny-linux',
});
const one = guest(`iso-a-${crypto.randomBytes(3).toString('hex')}`, 1, 128);
const two = guest(`iso-b-${crypto.randomBytes(3).toString('hex')}`, 2, 192, [tap]);

let dataDir: string;
let guestsDir: string;
let driver: QemuDriver;

const pidOf = async (id: string) => {
  const { pid } = await driver.status(id);
  if (pid === null) throw new Error(`${id} is not running`);
  return pid;
};
const statusOf = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (status: string, name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim();

/** The group directory of `id` in the hierarchy of `controller`. */
function groupDir(controller: 'cpu' | 'memory' | 'cpuacct', id: string): string {
  const h = host[controller];
  if (!h) throw new Error(`no ${controller} controller here`);
  return path.join(h.ownDir, GROUP_PARENT, id);
}

/** Run `argv` as guest user `uid`, as an escaped QEMU would be: its exit code and what it said. */
async function asGuestUser(uid: number, argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(findSetpriv()!, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', ...argv]);
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

async function cpuUsec(id: string): Promise<number> {
  const dir = groupDir('cpuacct', id);
  return host.cpuacct!.version === 2
    ? Number(/^usage_usec (\d+)/m.exec(readFileSync(path.join(dir, 'cpu.stat'), 'utf8'))![1])
    : Number(readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8').trim()) / 1000;
}

async function waitBooted(id: string): Promise<void> {
  await eventually(async () => (await driver.serialLog(id, 256 * 1024)).includes('CIRRUS-READY'), BOOT_MS, `${id} CIRRUS-READY`);
}

// Not skipped where the host cannot: these are the acceptance of host isolation, and CI's hosts can.
describe('host isolation on real guests', () => {
  beforeAll(() => {
    if (!isRoot || !host.cpu || !host.memory) throw new Error('these tests need root and the cpu and memory cgroup controllers');
  });
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-iso-'));
    // What a server's data directory holds beside its guests: secrets, root's alone.
    mkdirSync(path.join(dataDir, 'secrets'), { mode: 0o700 });
    writeFileSync(path.join(dataDir, 'secrets', 'seal-key'), crypto.randomBytes(32), { mode: 0o600 });
    guestsDir = path.join(dataDir, 'guests');
    // Guests kept to the host's last CPU (the others stay the host's): a host with too few cores for them, and one
    // where the kernel shares that core by weight alone (on several, CFS spreads groups per CPU, which blurs the ratio).
    driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 10_000, guestCpus: GUEST_CPU });
    for (const g of [one, two]) {
      await driver.create(g);
      await driver.start(g.id);
    }
    await Promise.all([one, two].map((g) => waitBooted(g.id)));
  }, 2 * BOOT_MS);

  afterAll(async () => {
    for (const g of [one, two]) await driver?.destroy(g.id).catch(() => undefined);
    await driver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says what it enforces: a user per guest, cgroups and the whole seccomp filter', async () => {
    const { isolation } = await driver.hostInfo();
    expect(isolation?.user.enforced).toBe(true);
    expect(isolation?.cgroups.enforced).toBe(true);
    expect(isolation?.cgroups.controllers).toEqual(expect.arrayContaining(['cpu', 'memory']));
    expect(isolation?.seccomp.enforced).toBe(true);
    expect(isolation?.cgroups.controllers).toContain('cpuset');
    expect(isolation?.cgroups.detail).toContain(`kept to CPUs ${GUEST_CPU}`);
    // The data directory: others pass through it, never list it.
    expect(statSync(dataDir).mode & 0o007).toBe(0o001);
  });

  it('runs each QEMU as a user of its own, with no capabilities, no new privileges and the full seccomp filter', async () => {
    const uids = new Set<number>();
    for (const g of [one, two]) {
      const pid = await pidOf(g.id);
      const status = statusOf(pid);
      const [ruid, euid, suid, fsuid] = field(status, 'Uid')!.split(/\s+/).map(Number);
      expect(isGuestUid(ruid!)).toBe(true);
      expect([euid, suid, fsuid]).toEqual([ruid, ruid, ruid]);
      expect(field(status, 'Gid')!.split(/\s+/).map(Number)).toEqual([ruid, ruid, ruid, ruid]);
      expect(field(status, 'Groups')).toBe('');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(status, set)).toBe('0000000000000000');
      expect(field(status, 'NoNewPrivs')).toBe('1');
      expect(field(status, 'Seccomp')).toBe('2');
      expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')).toContain('on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
      // It never forked itself: the server started it, in a session of its own.
      expect(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[3]).toBe(String(pid));
      uids.add(ruid!);
    }
    expect(uids.size).toBe(2);
  });

  it('made its tap for its user, which it opened without any capability', async () => {
    const { stdout } = await run('ip', ['-d', 'link', 'show', 'dev', tap]);
    const uid = Number(field(statusOf(await pidOf(two.id)), 'Uid')!.split(/\s+/)[0]);
    expect(stdout).toMatch(new RegExp(`tun type tap .*user ${uid} group ${uid}`));
    // Attached: QEMU, as that user, holds it open (its /dev/net/tun file names the tap).
    const pid = await pidOf(two.id);
    const held = readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === '/dev/net/tun' && new RegExp(`^iff:\\s+${tap}$`, 'm').test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      } catch {
        return false;
      }
    });
    expect(held).toBe(true);
  });

  it('puts each QEMU in its own cgroup with its CPU ceiling, CPU weight and memory limit', async () => {
    for (const g of [one, two]) {
      const pid = await pidOf(g.id);
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      const cpuLine = host.cpu!.version === 2 ? /^0::(.*)$/m.exec(lines)![1] : /^\d+:[^:]*\bcpu\b[^:]*:(.*)$/m.exec(lines)![1];
      const memLine = host.memory!.version === 2 ? /^0::(.*)$/m.exec(lines)![1] : /^\d+:[^:]*\bmemory\b[^:]*:(.*)$/m.exec(lines)![1];
      expect(cpuLine).toMatch(new RegExp(`/${GROUP_PARENT}/${g.id}$`));
      expect(memLine).toMatch(new RegExp(`/${GROUP_PARENT}/${g.id}$`));
      // Every thread of it (vCPUs included) is in there.
      const procs = readFileSync(path.join(groupDir('cpu', g.id), 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
      expect(procs).toEqual([pid]);
      const cpu = (f: string) => readFileSync(path.join(groupDir('cpu', g.id), f), 'utf8').trim();
      const mem = (f: string) => readFileSync(path.join(groupDir('memory', g.id), f), 'utf8').trim();
      // Its RAM plus QEMU's allowance under TCG (128 MiB of translation cache and 128 of the rest).
      const limit = String((g.memoryMiB + 256) * MiB);
      if (host.cpu!.version === 2) {
        expect(cpu('cpu.max')).toBe(`${g.vcpus * 100_000} 100000`);
        expect(cpu('cpu.weight')).toBe(String(100 * g.vcpus));
      } else {
        expect([cpu('cpu.cfs_quota_us'), cpu('cpu.cfs_period_us')]).toEqual([String(g.vcpus * 100_000), '100000']);
        expect(cpu('cpu.shares')).toBe(String(1024 * g.vcpus));
      }
      expect(mem(host.memory!.version === 2 ? 'memory.max' : 'memory.limit_in_bytes')).toBe(limit);
      // Its memory is charged there, and under the limit.
      const used = Number(mem(host.memory!.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'));
      expect(used).toBeGreaterThan(32 * MiB);
      expect(used).toBeLessThanOrEqual(Number(limit));
      // At most so many tasks: a QEMU spawning threads cannot use up the host's pid space.
      expect(readFileSync(path.join(host.pids!.ownDir, GROUP_PARENT, g.id, 'pids.max'), 'utf8').trim()).toBe('512');
      // Kept to the CPUs guests may use, every thread of it.
      expect(field(statusOf(pid), 'Cpus_allowed_list')).toBe(GUEST_CPU);
      for (const tid of readdirSync(`/proc/${pid}/task`)) expect(field(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), 'Cpus_allowed_list')).toBe(GUEST_CPU);
    }
  });

  it("one guest's user cannot read another's disk, its directory, or the server's data", async () => {
    const uidOf = async (id: string) => Number(field(statusOf(await pidOf(id)), 'Uid')!.split(/\s+/)[0]);
    const [a, b] = [await uidOf(one.id), await uidOf(two.id)];
    const diskOf = (id: string) => guestLayout(guestsDir, id).disk; // no snapshots: the first disk is the active one
    // The control: a guest's user reads its own disk (the same command, so a refusal below is the permission's).
    expect((await asGuestUser(b, ['head', '-c', '4', diskOf(two.id)])).code).toBe(0);
    for (const [who, what] of [
      [a, ['head', '-c', '4', diskOf(two.id)]],
      [b, ['head', '-c', '4', diskOf(one.id)]],
      [a, ['ls', path.join(guestsDir, two.id)]],
      [a, ['ls', dataDir]],
      [a, ['ls', guestsDir]],
      [a, ['head', '-c', '4', path.join(dataDir, 'secrets', 'seal-key')]],
      [a, ['head', '-c', '4', path.join(guestsDir, two.id, 'guest.json')]],
      [a, ['touch', path.join(guestsDir, two.id, 'planted')]],
    ] as const) {
      const r = await asGuestUser(who, [...what]);
      expect(r.code, `${what.join(' ')} as ${who}: ${r.out}`).not.toBe(0);
      expect(r.out).toMatch(/Permission denied/);
    }
    // Nor can it touch the server's records in its own directory.
    expect((await asGuestUser(a, ['rm', '-f', path.join(guestsDir, one.id, 'guest.json')])).out).toMatch(/Operation not permitted|Permission denied/);
    expect(existsSync(path.join(guestsDir, one.id, 'guest.json'))).toBe(true);
  });

  it('links a guest’s user plants where the server works are refused, never followed', { timeout: 60_000 }, async () => {
    const a = Number(field(statusOf(await pidOf(one.id)), 'Uid')!.split(/\s+/)[0]);
    const layout = guestLayout(guestsDir, one.id);
    const victim = path.join(dataDir, 'victim');
    writeFileSync(victim, 'the server’s\n', { mode: 0o644 });
    // The run directory (sockets, logs, screenshots) is closed to it once QEMU is up: nothing there can be swapped.
    for (const name of ['evil', 'serial.log.1', 'migrate.sock']) {
      expect((await asGuestUser(a, ['ln', '-s', victim, path.join(layout.runDir, name)])).out).toMatch(/Permission denied/);
    }
    // In its disk directory it can make entries: a link where the server writes its records next…
    expect((await asGuestUser(a, ['ln', '-s', victim, path.join(layout.dir, 'disks.json.tmp')])).code).toBe(0);
    await driver.createSnapshot(one.id, { name: 'planted', memory: false });
    expect(readFileSync(victim, 'utf8')).toBe('the server’s\n');
    expect(statSync(victim).uid).toBe(0);
    const chain = path.join(layout.dir, 'disks.json');
    expect([statSync(chain).uid, statSync(chain).mode & 0o777]).toEqual([0, 0o600]);
    // …but it cannot replace or remove the server's records, nor pass off a record of its own.
    expect((await asGuestUser(a, ['mv', '-f', path.join(layout.dir, 'guest.json'), path.join(layout.dir, 'mine')])).out).toMatch(/Operation not permitted|Permission denied/);
    expect((await asGuestUser(a, ['rm', '-f', chain])).out).toMatch(/Operation not permitted|Permission denied/);
    // The snapshot's file is frozen: the guest's user reads it, cannot write it.
    const frozen = (JSON.parse(readFileSync(chain, 'utf8')) as { snapshots: Record<string, { file: string }> }).snapshots.planted!.file;
    expect([statSync(frozen).uid, statSync(frozen).mode & 0o777]).toEqual([0, 0o640]);
    expect((await asGuestUser(a, ['dd', 'if=/dev/zero', `of=${frozen}`, 'bs=1', 'count=1', 'conv=notrunc'])).out).toMatch(/Permission denied/);
    await driver.deleteSnapshot(one.id, 'planted');
  });

  it('gives QEMU nothing of the server’s environment (its database URL and session secret live there)', async () => {
    const env = readFileSync(`/proc/${await pidOf(two.id)}/environ`, 'utf8').split('\0').filter(Boolean);
    expect(env.map((e) => e.split('=')[0]).sort()).toEqual(['LANG', 'PATH']);
    expect(env.join('\n')).not.toContain(SERVER_SECRET);
  });

  it('two guests of 1 and 2 vCPUs burning CPU on too few cores get it 1 : 2, measured from their cgroups', { timeout: 120_000 }, async () => {
    expect(GUEST_CPU.split(',').length).toBeLessThan(one.vcpus + two.vcpus); // the guests' CPUs cannot give both all they ask
    await guestShell(driver, one.id, 'while :; do :; done > /dev/null 2>&1 & echo started');
    await guestShell(driver, two.id, 'for i in 1 2; do (while :; do :; done) > /dev/null 2>&1 & done; echo started');
    await new Promise((r) => setTimeout(r, 3_000)); // both at full burn
    const before = [await cpuUsec(one.id), await cpuUsec(two.id)];
    await new Promise((r) => setTimeout(r, 12_000));
    const after = [await cpuUsec(one.id), await cpuUsec(two.id)];
    const [a, b] = [after[0]! - before[0]!, after[1]! - before[1]!];
    const ratio = b / a;
    console.log(`CPU in 12 s: 1 vCPU ${(a / 1e6).toFixed(2)} s, 2 vCPUs ${(b / 1e6).toFixed(2)} s, ratio 1 : ${ratio.toFixed(2)}`);
    expect(ratio).toBeGreaterThan(2 * 0.8);
    expect(ratio).toBeLessThan(2 * 1.2);
    // Neither above its ceiling.
    expect(a / 12e6).toBeLessThanOrEqual(1.05);
    expect(b / 12e6).toBeLessThanOrEqual(2.05);
    // The guests burn on until they are destroyed: stopping the loops would cost more than it saves.
  });

  it('raises the limits with a hot-add', { timeout: 60_000 }, async () => {
    await driver.resize(one.id, { vcpus: 1, memoryMiB: 256 });
    const mem = readFileSync(path.join(groupDir('memory', one.id), host.memory!.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim();
    expect(mem).toBe(String((256 + 256) * MiB));
  });

  it('finds its guests in their cgroups after a restart, and removes group and tap once a guest ends', { timeout: 60_000 }, async () => {
    const pid = await pidOf(two.id);
    await driver.close();
    driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 10_000 });
    expect((await driver.status(two.id)).pid).toBe(pid);
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`/${GROUP_PARENT}/${two.id}$`, 'm'));
    await driver.forceStop(two.id);
    await eventually(() => !existsSync(groupDir('cpu', two.id)) && !existsSync(groupDir('memory', two.id)), 10_000, 'the cgroup removed');
    await eventually(() => !existsSync(`/sys/class/net/${tap}`), 10_000, 'the tap removed');
  });

  it('keeps the server in charge of its records: a saved state is root’s, and still loads', { timeout: 120_000 }, async () => {
    await driver.saveState(one.id);
    const layout = guestLayout(guestsDir, one.id);
    const st = statSync(layout.stateFile);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
    await driver.restoreState(one.id);
    expect((await driver.status(one.id)).state).toBe('running');
    expect(isGuestUid(Number(field(statusOf(await pidOf(one.id)), 'Uid')!.split(/\s+/)[0]))).toBe(true);
  });
});

describe('a server killed between starting QEMU and letting it run', () => {
  it('leaves a QEMU with its vCPUs stopped, which the next server puts in its cgroup and runs', { timeout: BOOT_MS + 30_000 }, async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'cirrus-prelaunch-'));
    const dir = path.join(base, 'guests');
    const g = guest(`iso-p-${crypto.randomBytes(3).toString('hex')}`, 1, 128);
    let d = await QemuDriver.open({ guestsDir: dir, imagesDir: testImagesDir(), stopTimeoutMs: 5_000 });
    try {
      await d.create(g);
      await d.start(g.id);
      await d.forceStop(g.id);
      await d.close();
      // What start() had done when its server died: QEMU running as the guest's user, vCPUs stopped (-S), in no group yet.
      const layout = guestLayout(dir, g.id);
      const record = JSON.parse(readFileSync(layout.specFile, 'utf8')) as { uid: number };
      const image = new ImageCatalog(testImagesDir()).get(g.image);
      const args = buildQemuArgs({ spec: g, image, layout, accel: 'tcg' });
      expect(args).toContain('-S');
      // As start() opens the run directory to QEMU's user for its start.
      chmodSync(layout.runDir, 0o770);
      const proc = startQemu({ binary: 'qemu-system-x86_64', args, logFile: layout.qemuLog, cwd: layout.dir, runAs: { setpriv: findSetpriv()!, user: { uid: record.uid, gid: record.uid, groups: [] } } });
      const pid = await waitForPidFile(proc, layout.pidFile, layout.qemuLog);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(readFileSync(layout.serialLog, 'utf8')).toBe(''); // stopped: the guest has not run a single instruction
      d = await QemuDriver.open({ guestsDir: dir, imagesDir: testImagesDir(), stopTimeoutMs: 5_000 });
      expect((await d.status(g.id)).pid).toBe(pid);
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`/${GROUP_PARENT}/${g.id}$`, 'm'));
      await eventually(async () => (await d.serialLog(g.id)).includes('CIRRUS-READY'), BOOT_MS, 'the adopted guest boots');
    } finally {
      await d.destroy(g.id).catch(() => undefined);
      await d.close();
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('what a guest that escaped into its QEMU may have left behind', () => {
  let base: string;
  let d: QemuDriver;
  const g = guest(`iso-g-${crypto.randomBytes(3).toString('hex')}`, 1, 128);

  beforeAll(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), 'cirrus-ghost-'));
    d = await QemuDriver.open({ guestsDir: path.join(base, 'guests'), imagesDir: testImagesDir(), stopTimeoutMs: 5_000 });
    await d.create(g);
    await d.start(g.id);
  });

  afterAll(async () => {
    await d?.destroy(g.id).catch(() => undefined);
    await d?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('a process of its user that outlived QEMU is killed when the guest stops', { timeout: 60_000 }, async () => {
    const uid = (JSON.parse(readFileSync(guestLayout(path.join(base, 'guests'), g.id).specFile, 'utf8')) as { uid: number }).uid;
    // What an escape could leave running (QEMU itself cannot fork; this stands for whatever else runs as its uid).
    const ghost = spawn(findSetpriv()!, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', 'sleep', '600'], { stdio: 'ignore', detached: true });
    await eventually(() => processesOfUid(uid).length === 2, 5_000, 'the ghost runs beside QEMU');
    await d.forceStop(g.id);
    expect(processesOfUid(uid)).toEqual([]);
    expect(ghost.exitCode ?? ghost.signalCode).not.toBeNull();
  });

  it('a disk whose header names a file Cirrus did not give it is never copied by root', { timeout: 60_000 }, async () => {
    // A guest's user writes its active disk: its QEMU could have rewritten the backing name (here as root, the guest stopped).
    const secret = path.join(base, 'secret');
    writeFileSync(secret, 'root’s alone', { mode: 0o600 });
    const layout = guestLayout(path.join(base, 'guests'), g.id);
    await run('qemu-img', ['rebase', '-u', '-F', 'raw', '-b', secret, layout.disk]);
    const target = path.join(base, 'export.qcow2');
    await expect(d.exportDisk(g.id, null, { kind: 'file', path: target, format: 'qcow2' })).rejects.toThrow(/built on a file Cirrus did not give it \(secret\)/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('a host that cannot isolate guests', () => {
  let base: string;
  let d: QemuDriver;
  const g = guest(`iso-c-${crypto.randomBytes(3).toString('hex')}`, 1, 128);

  beforeAll(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), 'cirrus-noiso-'));
    // A data directory inside someone else's private directory (a guest's user could not reach it),
    // on a host whose /proc shows no cgroup hierarchy.
    const theirs = path.join(base, 'home');
    mkdirSync(path.join(theirs, 'cirrus'), { recursive: true });
    chownSync(theirs, 1000, 1000);
    chmodSync(theirs, 0o700);
    const proc = path.join(base, 'proc', 'self');
    mkdirSync(proc, { recursive: true });
    writeFileSync(path.join(proc, 'mountinfo'), '20 1 0:5 / /proc rw - proc proc rw\n');
    writeFileSync(path.join(proc, 'cgroup'), '');
    d = await QemuDriver.open({ guestsDir: path.join(theirs, 'cirrus', 'guests'), imagesDir: testImagesDir(), procRoot: path.join(base, 'proc'), stopTimeoutMs: 5_000 });
  });

  afterAll(async () => {
    await d?.destroy(g.id).catch(() => undefined);
    await d?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('still launches, and says what it cannot enforce instead of failing', { timeout: BOOT_MS }, async () => {
    const { isolation } = await d.hostInfo();
    expect(isolation?.user).toMatchObject({ enforced: false, detail: expect.stringContaining('does not let other users pass through') });
    expect(isolation?.cgroups.enforced).toBe(false);
    expect(isolation?.missing).toEqual(
      expect.arrayContaining([expect.stringMatching(/^a user per guest/), 'CPU limits (no cpu controller is mounted)', 'memory limits (no memory controller is mounted)']),
    );
    await d.create(g);
    await d.start(g.id);
    await eventually(async () => (await d.serialLog(g.id)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
    const { pid } = await d.status(g.id);
    // It runs as the server does, in the server's own groups — and under the whole seccomp filter all the same.
    expect(field(statusOf(pid!), 'Uid')!.split(/\s+/)[0]).toBe('0');
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).not.toMatch(new RegExp(GROUP_PARENT));
    expect(field(statusOf(pid!), 'Seccomp')).toBe('2');
  });
});
