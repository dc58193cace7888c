// A cgroup per guest: a CPU weight proportional to the vCPUs bought, a ceiling
// of that many CPUs, a memory limit of the guest's memory plus QEMU's measured
// overhead, and an I/O weight where the kernel has proportional I/O. Made
// before QEMU runs its guest, updated when vCPUs or memory are hot-added,
// removed once QEMU has gone, and found again from /proc/<pid>/cgroup when a
// restarted server re-adopts a running guest.
//
// cgroup v2 is the target; hosts that still bind CPU and memory to v1
// hierarchies (a "hybrid" layout, like this project's test machines) get the
// same limits through the v1 files, controller by controller. Guests' groups
// sit under the group the server itself runs in (`cirrus-guests/<guest id>`),
// so a server confined by its supervisor keeps its guests inside that
// confinement; on v2 that needs the supervisor's delegation (for systemd:
// Delegate=yes), and without it the report says so and guests run unconfined.
//
// 1. Pure: which files get which values (golden tests).
// 2. Finding the hierarchies (/proc/self/mountinfo, /proc/self/cgroup).
// 3. GuestCgroups: create, place, update, read, remove.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GUEST_ID_PATTERN } from '../spec';

// 1. Settings -------------------------------------------------------------------

/** What a guest's group limits it to. */
export interface GuestLimits {
  vcpus: number;
  memoryMiB: number;
  /** QEMU's own memory above the guest's (device models, TCG's translation cache), allowed on top. */
  overheadMiB: number;
}

export type Controller = 'cpu' | 'memory' | 'io' | 'cpuset' | 'pids';
/** A file of one controller's hierarchy and what goes in it. */
export interface CgroupSetting {
  controller: Controller;
  file: string;
  value: string;
}

/**
 * The most tasks (threads) a guest's QEMU may have: its vCPUs, its block
 * layer's worker pool (64 at most) and a few more, with room to spare — and
 * far from the host's pid space, which a QEMU spawning threads could exhaust.
 */
export const PIDS_MAX = 512;

/** The scheduler period the CPU ceiling is measured over (the kernel's default). */
export const CPU_PERIOD_US = 100_000;
const MiB = 1024 * 1024;

/** A weight proportional to vCPUs: v2's cpu.weight (default 100, 1–10000), v1's cpu.shares (default 1024). */
export function cpuWeight(vcpus: number, version: 1 | 2): number {
  return version === 2 ? Math.min(10_000, 100 * vcpus) : 1024 * vcpus;
}

/**
 * The settings that realise `limits` on `version`, for the controllers the
 * host has. Each setting's file exists on that version of the controller;
 * `io` is left out where the host has no proportional I/O weights.
 */
export function cgroupSettings(limits: GuestLimits, version: { cpu?: 1 | 2; memory?: 1 | 2; io?: 1 | 2; pids?: 1 | 2 }): CgroupSetting[] {
  const { vcpus } = limits;
  if (!Number.isInteger(vcpus) || vcpus < 1) throw new Error(`bad vCPU count ${vcpus}`);
  if (!Number.isInteger(limits.memoryMiB) || limits.memoryMiB < 1 || !Number.isInteger(limits.overheadMiB) || limits.overheadMiB < 0) {
    throw new Error(`bad memory limit ${limits.memoryMiB} + ${limits.overheadMiB} MiB`);
  }
  const memoryBytes = String((limits.memoryMiB + limits.overheadMiB) * MiB);
  const out: CgroupSetting[] = [];
  if (version.cpu === 2) {
    out.push({ controller: 'cpu', file: 'cpu.weight', value: String(cpuWeight(vcpus, 2)) });
    out.push({ controller: 'cpu', file: 'cpu.max', value: `${vcpus * CPU_PERIOD_US} ${CPU_PERIOD_US}` });
  } else if (version.cpu === 1) {
    out.push({ controller: 'cpu', file: 'cpu.shares', value: String(cpuWeight(vcpus, 1)) });
    out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
    out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(vcpus * CPU_PERIOD_US) });
  }
  if (version.memory === 2) out.push({ controller: 'memory', file: 'memory.max', value: memoryBytes });
  else if (version.memory === 1) out.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: memoryBytes });
  // I/O in proportion too, within each version's range (v2 1–10000, default 100; v1 10–1000, default 500).
  if (version.io === 2) out.push({ controller: 'io', file: 'io.weight', value: `default ${Math.min(10_000, 100 * vcpus)}` });
  else if (version.io === 1) out.push({ controller: 'io', file: 'blkio.weight', value: String(Math.min(1000, 100 * vcpus)) });
  if (version.pids) out.push({ controller: 'pids', file: 'pids.max', value: String(PIDS_MAX) });
  return out;
}

// 2. Finding the hierarchies ----------------------------------------------------------

/** Where one controller is: its version and the directory the server's own group is. */
export interface Hierarchy {
  version: 1 | 2;
  /** The server's own group in this hierarchy (an absolute directory). */
  ownDir: string;
}

export interface CgroupHost {
  cpu: Hierarchy | null;
  memory: Hierarchy | null;
  io: Hierarchy | null;
  cpuset: Hierarchy | null;
  pids: Hierarchy | null;
  /** CPU time per group: v2's cpu.stat, or v1's cpuacct (its own hierarchy on some hosts). */
  cpuacct: Hierarchy | null;
  /** What is missing, in words for an operator. */
  missing: string[];
}

interface Mount {
  root: string;
  point: string;
  type: string;
  options: string[];
}

function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [type, , superOpts] = post.split(' ');
    if (!f[3] || !f[4] || !type) continue;
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    out.push({ root: unescape(f[3]), point: unescape(f[4]), type, options: (superOpts ?? '').split(',') });
  }
  return out;
}

/** /proc/self/cgroup: hierarchy id's controllers (or '' for v2) → the group path. */
function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, ctrls = '', ...rest] = line.split(':');
      return { controllers: ctrls ? ctrls.split(',') : [], path: rest.join(':') };
    });
}

function join(mount: Mount, groupPath: string): string {
  // A mount of a sub-tree (containers) shows the group's path relative to its root.
  const rel = mount.root !== '/' && (groupPath === mount.root || groupPath.startsWith(mount.root + '/')) ? groupPath.slice(mount.root.length) : groupPath;
  return path.resolve(path.join(mount.point, rel));
}

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/**
 * Where this process's cpu, memory and I/O controllers are, from
 * `<procRoot>/self/mountinfo` and `<procRoot>/self/cgroup`. v2 where the
 * unified hierarchy offers the controller to the server's group, else the v1
 * hierarchy that has it.
 */
export function findCgroups(procRoot = '/proc'): CgroupHost {
  const missing: string[] = [];
  const mounts = parseMountinfo(readText(path.join(procRoot, 'self', 'mountinfo')) ?? '');
  const groups = parseProcCgroup(readText(path.join(procRoot, 'self', 'cgroup')) ?? '');
  const unified = mounts.find((m) => m.type === 'cgroup2');
  const ownV2 = groups.find((g) => g.controllers.length === 0);
  const v2Dir = unified && ownV2 ? join(unified, ownV2.path) : null;
  const v2Offers = new Set((v2Dir ? readText(path.join(v2Dir, 'cgroup.controllers')) ?? '' : '').trim().split(/\s+/).filter(Boolean));
  const v1 = (name: string): Hierarchy | null => {
    const mount = mounts.find((m) => m.type === 'cgroup' && m.options.includes(name));
    const own = groups.find((g) => g.controllers.includes(name));
    return mount && own ? { version: 1, ownDir: join(mount, own.path) } : null;
  };
  const pick = (v2Name: string, v1Name: string): Hierarchy | null => (v2Dir && v2Offers.has(v2Name) ? { version: 2, ownDir: v2Dir } : v1(v1Name));
  const cpu = pick('cpu', 'cpu');
  const memory = pick('memory', 'memory');
  let io = pick('io', 'blkio');
  // v1's proportional weights exist only under a scheduler that has them (BFQ's blkio.bfq.weight is not this file).
  if (io?.version === 1 && !existsSync(path.join(io.ownDir, 'blkio.weight'))) {
    missing.push('I/O weights (the blkio hierarchy has no blkio.weight: the block scheduler keeps no proportional weights)');
    io = null;
  }
  if (!io && !missing.length) missing.push('I/O weights (no io or blkio controller is mounted)');
  const cpuacct = cpu?.version === 2 ? cpu : v1('cpuacct');
  const cpuset = pick('cpuset', 'cpuset');
  const pids = pick('pids', 'pids');
  if (!cpu) missing.push('CPU limits (no cpu controller is mounted)');
  if (!memory) missing.push('memory limits (no memory controller is mounted)');
  if (!pids) missing.push('a task limit (no pids controller is mounted)');
  return { cpu, memory, io, cpuset, pids, cpuacct, missing };
}

// 3. Guests' groups -------------------------------------------------------------

/** The directories one guest's group is, per controller (the same directory where controllers share a hierarchy). */
export type GuestGroup = Partial<Record<Controller | 'cpuacct', string>>;

export const GROUP_PARENT = 'cirrus-guests';
/** Another name for the parent group (a host of a cluster on one machine: `cirrus-guests-node-2`), so two hosts never share a guest's group. */
export const GROUP_PARENT_PATTERN = /^cirrus-guests(-[a-z0-9-]{1,40})?$/;

/** A CPU list as the kernel writes it ("1", "2-7", "0,2-3"). */
export const CPU_LIST_PATTERN = /^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$/;

/** The CPUs a list names (for checking it against the host's). */
export function cpusOf(list: string): number[] {
  if (!CPU_LIST_PATTERN.test(list)) throw new Error(`not a CPU list: ${JSON.stringify(list)} (e.g. "1" or "2-7")`);
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if (b! < a) throw new Error(`not a CPU range: ${part}`);
    for (let c = a; c <= b!; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** What cgroups enforce on this host, for the hardening report. */
export interface CgroupReport {
  enforced: boolean;
  /** e.g. "v2", "v1", or "v1 (cpu, memory), v2 (io)". */
  versions: string;
  controllers: Controller[];
  missing: string[];
}

function writeSetting(dir: string, file: string, value: string): void {
  writeFileSync(path.join(dir, file), value);
}

/**
 * Keep a group to `cpus`. v1 groups start with no CPUs and no memory nodes
 * (nothing can join them until both are set); v2 groups inherit the parent's.
 */
function setCpus(h: Hierarchy, dir: string, cpus: string): void {
  if (h.version === 1) {
    const mems = (readText(path.join(path.dirname(dir), 'cpuset.mems')) ?? '').trim() || (readText(path.join(h.ownDir, 'cpuset.mems')) ?? '0').trim();
    writeSetting(dir, 'cpuset.mems', mems);
  }
  writeSetting(dir, 'cpuset.cpus', cpus);
}

export class GuestCgroups {
  private constructor(
    private readonly host: CgroupHost,
    /** The parent group per controller (`<own group>/cirrus-guests`). */
    private readonly parents: GuestGroup,
    /** The CPUs guests are kept to, or null for all the host's. */
    readonly cpus: string | null,
    private readonly parentName: string,
  ) {}

  /**
   * Find the hierarchies and make (or check) the parent group in each. Null,
   * with the reason in `report.missing`, where no controller can be used.
   */
  static open(procRoot = '/proc', opts: { cpus?: string | null; parent?: string } = {}): { cgroups: GuestCgroups | null; report: CgroupReport } {
    const parentName = opts.parent ?? GROUP_PARENT;
    if (!GROUP_PARENT_PATTERN.test(parentName)) throw new Error(`a guests' parent group is cirrus-guests or cirrus-guests-<name>, not ${JSON.stringify(parentName)}`);
    const host = findCgroups(procRoot);
    const missing = [...host.missing];
    const parents: GuestGroup = {};
    const usable: Controller[] = [];
    if (opts.cpus && !host.cpuset) missing.push(`keeping guests to CPUs ${opts.cpus} (no cpuset controller is mounted)`);
    for (const c of ['cpu', 'memory', 'io', 'pids', 'cpuacct', 'cpuset'] as const) {
      const h = host[c];
      // Guests are confined to some CPUs only when the operator asked for it.
      if (!h || (c === 'cpuset' && !opts.cpus)) continue;
      const dir = path.join(h.ownDir, parentName);
      try {
        mkdirSync(dir, { recursive: true });
        if (h.version === 2 && c !== 'cpuacct') {
          // v2 hands a controller down only where every group above offers it to its children.
          const name = c;
          if (!(readText(path.join(h.ownDir, 'cgroup.subtree_control')) ?? '').split(/\s+/).includes(name)) writeSetting(h.ownDir, 'cgroup.subtree_control', `+${name}`);
          if (!(readText(path.join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/).includes(name)) writeSetting(dir, 'cgroup.subtree_control', `+${name}`);
        }
        if (c === 'cpuset') setCpus(h, dir, opts.cpus!);
        parents[c] = dir;
        if (c !== 'cpuacct') usable.push(c);
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === 'EBUSY' ? `the server's group ${h.ownDir} has processes of its own, so it cannot hand ${c} down (run Cirrus with its cgroup delegated, e.g. systemd's Delegate=yes)` : (e as Error).message;
        if (c !== 'cpuacct') missing.push(`${c} limits (${why})`);
      }
    }
    // Accounting rides on cpu where it can; without it the fair-share figures have nothing to read, which is all.
    const versions = [...new Set(usable.map((c) => host[c]!.version))];
    const report: CgroupReport = {
      enforced: usable.includes('cpu') && usable.includes('memory'),
      versions:
        versions.length === 1 ? `v${versions[0]}` : usable.map((c) => `${c} v${host[c]!.version}`).join(', '),
      controllers: usable,
      missing,
    };
    return { cgroups: usable.length ? new GuestCgroups(host, parents, opts.cpus ?? null, parentName) : null, report };
  }

  private versions(): { cpu?: 1 | 2; memory?: 1 | 2; io?: 1 | 2; pids?: 1 | 2 } {
    const v = (c: Controller) => (this.parents[c] ? this.host[c]!.version : undefined);
    return { cpu: v('cpu'), memory: v('memory'), io: v('io'), pids: v('pids') };
  }

  /** The group a guest gets (not made yet). */
  groupOf(id: string): GuestGroup {
    if (!GUEST_ID_PATTERN.test(id)) throw new Error(`not a guest id: ${id}`);
    const out: GuestGroup = {};
    for (const [c, parent] of Object.entries(this.parents) as [Controller | 'cpuacct', string][]) out[c] = path.join(parent, id);
    return out;
  }

  /** Make the guest's group with its limits (again, if it is there). */
  create(id: string, limits: GuestLimits): GuestGroup {
    const group = this.groupOf(id);
    for (const dir of new Set(Object.values(group))) mkdirSync(dir, { recursive: true });
    if (group.cpuset) setCpus(this.host.cpuset!, group.cpuset, this.cpus!);
    this.apply(group, limits);
    return group;
  }

  /** Set the limits (a hot-add raises them before it plugs anything in). */
  apply(group: GuestGroup, limits: GuestLimits): void {
    for (const s of cgroupSettings(limits, this.versions())) {
      const dir = group[s.controller];
      if (dir) writeSetting(dir, s.file, s.value);
    }
  }

  /** Move a process, all its threads, into the group (cgroup.procs moves a whole thread group on both versions). */
  place(group: GuestGroup, pid: number): void {
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`bad pid ${pid}`);
    for (const dir of new Set(Object.values(group))) writeSetting(dir, 'cgroup.procs', String(pid));
  }

  /** The guest's group, if the running process `pid` is in it in every hierarchy (re-adoption). */
  groupOfPid(pid: number, id: string): GuestGroup | null {
    const text = readText(`/proc/${pid}/cgroup`);
    if (text === null) return null;
    const lines = parseProcCgroup(text);
    const want = this.groupOf(id);
    for (const c of Object.keys(want) as (Controller | 'cpuacct')[]) {
      const name = c === 'io' && this.host.io?.version === 1 ? 'blkio' : c;
      const line = this.host[c]!.version === 2 ? lines.find((g) => g.controllers.length === 0) : lines.find((g) => g.controllers.includes(name));
      if (!line?.path.endsWith(`/${this.parentName}/${id}`)) return null;
    }
    return want;
  }

  /** CPU time the group has used (µs) and the memory charged to it (bytes), where the host accounts them. */
  usage(group: GuestGroup): { cpuUsec: number | null; memoryBytes: number | null } {
    let cpuUsec: number | null = null;
    if (group.cpuacct) {
      const h = this.host.cpuacct!;
      if (h.version === 2) {
        const m = /^usage_usec (\d+)/m.exec(readText(path.join(group.cpuacct, 'cpu.stat')) ?? '');
        cpuUsec = m?.[1] ? Number(m[1]) : null;
      } else {
        const ns = readText(path.join(group.cpuacct, 'cpuacct.usage'));
        cpuUsec = ns === null ? null : Math.floor(Number(ns.trim()) / 1000);
      }
    }
    let memoryBytes: number | null = null;
    if (group.memory) {
      const file = this.host.memory!.version === 2 ? 'memory.current' : 'memory.usage_in_bytes';
      const v = readText(path.join(group.memory, file));
      memoryBytes = v === null ? null : Number(v.trim());
    }
    return { cpuUsec, memoryBytes };
  }

  /** The values in force, by file name (tests and the report read them). */
  read(group: GuestGroup): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of cgroupSettings({ vcpus: 1, memoryMiB: 1, overheadMiB: 0 }, this.versions())) {
      const dir = group[s.controller];
      const v = dir ? readText(path.join(dir, s.file)) : null;
      if (v !== null) out[s.file] = v.trim();
    }
    return out;
  }

  /**
   * Remove the guest's group once its processes have left it (a process
   * being reaped can linger a moment: tried for up to `waitMs`).
   */
  async remove(group: GuestGroup, waitMs = 2_000): Promise<boolean> {
    const until = Date.now() + waitMs;
    for (;;) {
      let left = 0;
      for (const dir of new Set(Object.values(group))) {
        if (!existsSync(dir)) continue;
        try {
          rmdirSync(dir);
        } catch {
          left++;
        }
      }
      if (left === 0) return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Groups under our parents named for guests (the sweep removes those whose guest runs no QEMU). */
  guestGroups(): string[] {
    const ids = new Set<string>();
    for (const parent of new Set(Object.values(this.parents))) {
      try {
        for (const n of readdirSync(parent)) if (GUEST_ID_PATTERN.test(n)) ids.add(n);
      } catch {
        // Gone: nothing of ours there.
      }
    }
    return [...ids];
  }
}
