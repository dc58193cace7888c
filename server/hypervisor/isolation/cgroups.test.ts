// The cgroup layer above the kernel: which files get which values on each
// version, and how the hierarchies are found from /proc. The real kernel is
// exercised by server/hypervisor/qemu/isolation.test.ts; here a made-up /proc
// and cgroup tree (plain directories) show the cases a test host does not
// have: pure v2, hybrid, none, and a v2 group that cannot hand controllers down.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupSettings, cpusOf, findCgroups, GuestCgroups } from './cgroups';

const MiB = 1024 * 1024;
let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'cirrus-cgfs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A /proc/self with this mountinfo and cgroup membership. */
function fakeProc(mountinfo: string[], cgroup: string[]): string {
  const proc = path.join(root, 'proc');
  mkdirSync(path.join(proc, 'self'), { recursive: true });
  writeFileSync(path.join(proc, 'self', 'mountinfo'), mountinfo.join('\n') + '\n');
  writeFileSync(path.join(proc, 'self', 'cgroup'), cgroup.join('\n') + '\n');
  return proc;
}

describe('cgroupSettings', () => {
  const limits = { vcpus: 2, memoryMiB: 512, overheadMiB: 256 };

  it('on v2: weight ∝ vCPUs, a ceiling of that many CPUs, memory.max, io.weight', () => {
    expect(cgroupSettings(limits, { cpu: 2, memory: 2, io: 2 })).toEqual([
      { controller: 'cpu', file: 'cpu.weight', value: '200' },
      { controller: 'cpu', file: 'cpu.max', value: '200000 100000' },
      { controller: 'memory', file: 'memory.max', value: String(768 * MiB) },
      { controller: 'io', file: 'io.weight', value: 'default 200' },
    ]);
    expect(cgroupSettings(limits, { pids: 2 })).toEqual([{ controller: 'pids', file: 'pids.max', value: '512' }]);
  });

  it('on v1: the same through cpu.shares, CFS quota and memory.limit_in_bytes', () => {
    expect(cgroupSettings(limits, { cpu: 1, memory: 1, io: 1 })).toEqual([
      { controller: 'cpu', file: 'cpu.shares', value: '2048' },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '100000' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '200000' },
      { controller: 'memory', file: 'memory.limit_in_bytes', value: String(768 * MiB) },
      { controller: 'io', file: 'blkio.weight', value: '200' },
    ]);
  });

  it('keeps weights in each version’s range, sets only what the host has, and refuses nonsense', () => {
    expect(cgroupSettings({ vcpus: 200, memoryMiB: 1, overheadMiB: 0 }, { cpu: 2, io: 1 })).toEqual([
      { controller: 'cpu', file: 'cpu.weight', value: '10000' },
      { controller: 'cpu', file: 'cpu.max', value: '20000000 100000' },
      { controller: 'io', file: 'blkio.weight', value: '1000' },
    ]);
    expect(cgroupSettings(limits, {})).toEqual([]);
    expect(() => cgroupSettings({ vcpus: 0, memoryMiB: 1, overheadMiB: 0 }, { cpu: 2 })).toThrow(/vCPU/);
    expect(() => cgroupSettings({ vcpus: 1, memoryMiB: 1.5, overheadMiB: 0 }, { memory: 2 })).toThrow(/memory/);
  });
});

describe('findCgroups', () => {
  it('takes cpu, memory and io from v2 where the unified hierarchy offers them to the server’s group', () => {
    const v2 = path.join(root, 'sys', 'fs', 'cgroup');
    mkdirSync(path.join(v2, 'cirrus.service'), { recursive: true });
    writeFileSync(path.join(v2, 'cirrus.service', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const proc = fakeProc([`30 23 0:26 / ${v2} rw,nosuid - cgroup2 cgroup2 rw`], ['0::/cirrus.service']);
    const host = findCgroups(proc);
    const own = path.join(v2, 'cirrus.service');
    expect(host).toEqual({
      cpu: { version: 2, ownDir: own },
      memory: { version: 2, ownDir: own },
      io: { version: 2, ownDir: own },
      cpuset: { version: 2, ownDir: own },
      pids: { version: 2, ownDir: own },
      cpuacct: { version: 2, ownDir: own },
      missing: [],
    });
  });

  it('falls back to the v1 hierarchies of a hybrid host, controller by controller, inside the server’s own groups', () => {
    const base = path.join(root, 'sys', 'fs', 'cgroup');
    for (const d of ['cpu', 'cpuacct', 'memory/session/1', 'blkio', 'unified']) mkdirSync(path.join(base, d), { recursive: true });
    writeFileSync(path.join(base, 'unified', 'cgroup.controllers'), 'hugetlb\n');
    const proc = fakeProc(
      [
        `32 31 0:29 / ${base}/cpu rw,relatime - cgroup cgroup rw,cpu`,
        `33 31 0:30 / ${base}/cpuacct rw,relatime - cgroup cgroup rw,cpuacct`,
        `35 31 0:32 / ${base}/memory rw,relatime - cgroup cgroup rw,memory`,
        `38 31 0:35 / ${base}/blkio rw,relatime - cgroup cgroup rw,blkio`,
        `41 31 0:38 / ${base}/unified rw,relatime - cgroup2 cgroup2 rw`,
      ],
      ['7:blkio:/', '4:memory:/session/1', '2:cpuacct:/', '1:cpu:/', '0::/'],
    );
    const host = findCgroups(proc);
    expect(host.cpu).toEqual({ version: 1, ownDir: path.join(base, 'cpu') });
    expect(host.memory).toEqual({ version: 1, ownDir: path.join(base, 'memory', 'session', '1') });
    expect(host.cpuacct).toEqual({ version: 1, ownDir: path.join(base, 'cpuacct') });
    // No blkio.weight (no proportional scheduler): no I/O weights, and the report says why.
    expect(host.io).toBeNull();
    expect(host.missing).toEqual([expect.stringMatching(/^I\/O weights \(the blkio hierarchy has no blkio.weight/), 'a task limit (no pids controller is mounted)']);
  });

  it('says what is missing on a host with no cgroups at all', () => {
    const host = findCgroups(fakeProc([`20 1 0:5 / /proc rw - proc proc rw`], []));
    expect([host.cpu, host.memory, host.io]).toEqual([null, null, null]);
    expect(host.missing).toEqual([
      'I/O weights (no io or blkio controller is mounted)',
      'CPU limits (no cpu controller is mounted)',
      'memory limits (no memory controller is mounted)',
      'a task limit (no pids controller is mounted)',
    ]);
    const { cgroups, report } = GuestCgroups.open(path.join(root, 'proc'));
    expect(cgroups).toBeNull();
    expect(report).toMatchObject({ enforced: false, controllers: [] });
  });
});

describe('GuestCgroups on a made-up tree', () => {
  it('makes the parent and each guest’s group, writes its limits and moves a process in (v1)', () => {
    const base = path.join(root, 'cg');
    for (const d of ['cpu', 'memory']) mkdirSync(path.join(base, d), { recursive: true });
    const proc = fakeProc([`32 31 0:29 / ${base}/cpu rw - cgroup cgroup rw,cpu`, `35 31 0:32 / ${base}/memory rw - cgroup cgroup rw,memory`], ['4:memory:/', '1:cpu:/']);
    const { cgroups, report } = GuestCgroups.open(proc);
    expect(report).toMatchObject({ enforced: true, versions: 'v1', controllers: ['cpu', 'memory'] });
    const group = cgroups!.create('g-1', { vcpus: 3, memoryMiB: 256, overheadMiB: 128 });
    expect(group).toEqual({ cpu: path.join(base, 'cpu', 'cirrus-guests', 'g-1'), memory: path.join(base, 'memory', 'cirrus-guests', 'g-1') });
    expect(cgroups!.read(group)).toEqual({ 'cpu.shares': '3072', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '300000', 'memory.limit_in_bytes': String(384 * MiB) });
    cgroups!.place(group, 4242);
    expect(readFileSync(path.join(group.cpu!, 'cgroup.procs'), 'utf8')).toBe('4242');
    expect(() => cgroups!.place(group, 1)).toThrow(/bad pid/);
    expect(() => cgroups!.groupOf('../escape')).toThrow(/not a guest id/);
  });

  it('on v2 hands the controllers down to its parent group, and says so when the server’s group cannot', () => {
    const v2 = path.join(root, 'unified');
    mkdirSync(path.join(v2, 'srv'), { recursive: true });
    writeFileSync(path.join(v2, 'srv', 'cgroup.controllers'), 'cpu memory\n');
    writeFileSync(path.join(v2, 'srv', 'cgroup.subtree_control'), '');
    const proc = fakeProc([`30 23 0:26 / ${v2} rw - cgroup2 cgroup2 rw`], ['0::/srv']);
    const { cgroups, report } = GuestCgroups.open(proc);
    expect(report).toMatchObject({ enforced: true, versions: 'v2', controllers: ['cpu', 'memory'] });
    // A plain file stands in for the kernel's: the last write is what is there.
    expect(readFileSync(path.join(v2, 'srv', 'cirrus-guests', 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    const group = cgroups!.create('g-2', { vcpus: 1, memoryMiB: 128, overheadMiB: 64 });
    expect(cgroups!.read(group)).toEqual({ 'cpu.weight': '100', 'cpu.max': '100000 100000', 'memory.max': String(192 * MiB) });
  });
});

describe('keeping guests to some CPUs', () => {
  it('reads CPU lists as the kernel writes them, and refuses anything else', () => {
    expect(cpusOf('1')).toEqual([1]);
    expect(cpusOf('0,2-4')).toEqual([0, 2, 3, 4]);
    for (const bad of ['', '1-', 'a', '3-1', '1;2', '1 2']) expect(() => cpusOf(bad)).toThrow(/CPU (list|range)/);
  });

  it('on v1 gives the parent and each guest’s group the CPUs and the parent’s memory nodes (a v1 cpuset starts with none)', () => {
    const base = path.join(root, 'cg');
    mkdirSync(path.join(base, 'cpuset'), { recursive: true });
    writeFileSync(path.join(base, 'cpuset', 'cpuset.mems'), '0\n');
    const proc = fakeProc([`34 31 0:31 / ${base}/cpuset rw - cgroup cgroup rw,cpuset`], ['3:cpuset:/']);
    const { cgroups, report } = GuestCgroups.open(proc, { cpus: '1' });
    expect(report.controllers).toEqual(['cpuset']);
    const parent = path.join(base, 'cpuset', 'cirrus-guests');
    expect([readFileSync(path.join(parent, 'cpuset.mems'), 'utf8'), readFileSync(path.join(parent, 'cpuset.cpus'), 'utf8')]).toEqual(['0', '1']);
    const group = cgroups!.create('g-3', { vcpus: 2, memoryMiB: 128, overheadMiB: 0 });
    expect([readFileSync(path.join(group.cpuset!, 'cpuset.mems'), 'utf8'), readFileSync(path.join(group.cpuset!, 'cpuset.cpus'), 'utf8')]).toEqual(['0', '1']);
    // Not asked for: no cpuset groups at all.
    expect(GuestCgroups.open(proc).cgroups).toBeNull();
  });
});
