// What keeps each guest's QEMU to itself, for the QEMU driver: the user it
// runs as (isolation/users.ts), the files that user may read or write, the
// taps made for it, and its cgroup (isolation/cgroups.ts). And what this host
// enforces and what it cannot, in words, for the admin hosts page.
//
// Who may do what, where a guest runs as its own user (uid = gid = N):
//   - its directory: root:N 1770 (sticky: QEMU makes its sockets, logs and
//     new overlays there, but cannot rename or remove the server's records);
//     1771 while a linked clone reads a file in it;
//   - its active disk file: N:N 0600; every frozen file under it (snapshots,
//     points) root:N 0640 (read, never written), or root:root 0644 while a
//     linked clone reads it (clones run as other users);
//   - its NoCloud seed root:N 0640; its serial log N:N 0600; the server's
//     records (guest.json, chain.json) and saved states root 0600;
//   - attached volumes N:N 0600, back to root:root 0600 when detached;
//   - a destroyed guest's files kept for its clones root:root 0644 in a 0711
//     directory, so a new guest given the same uid cannot write them.
// Shared read-only bases (public images, a tenant's captured images, the
// points clones build on) are readable by any guest user that knows their
// path; none of those directories can be listed by one.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GuestCgroups, PIDS_MAX, type CgroupReport, type GuestGroup, type GuestLimits } from '../isolation/cgroups';
import { findSetpriv, GuestUids, HOST_UIDS_DIR, probeUserIsolation, type GuestUser, type UserIsolationProbe } from '../isolation/users';
import { TAP_PATTERN } from '../spec';
import type { Acceleration, HostIsolation } from '../types';
import { TCG_TB_SIZE_MIB } from './args';
import { applyFileRules, type FileRule } from './safe-files';

export { applyFileRules, type FileRule };

const run = promisify(execFile);

/**
 * QEMU's own memory above the guest's, allowed on top of it in the memory
 * limit. Measured (bench/density.ts, QEMU 7.2): a Tiny Linux guest's QEMU holds
 * about 60 MiB beyond its RAM with TCG's translation cache nearly full, a
 * Debian guest's up to about 170 MiB under TCG (its cache at the 128 MiB cap);
 * under KVM there is no cache. Page cache the guest's disk I/O brings in is
 * charged too, and reclaimed at the limit rather than killing anything.
 */
export function qemuOverheadMiB(accel: Acceleration): number {
  return accel === 'tcg' ? TCG_TB_SIZE_MIB + 128 : 128;
}

export function guestFileRules(g: {
  dir: string;
  user: GuestUser;
  active: string;
  /** Frozen files of its chain (snapshots' files, kept points). */
  frozen: string[];
  /** Files of its that other guests (linked clones) read. */
  shared: Set<string>;
  seed: string;
  serialLog: string;
}): FileRule[] {
  const { uid, gid } = g.user;
  // Only files in the guest's own directory get its owner or mode: a record naming anything else is not the server's.
  for (const f of [g.active, ...g.frozen, g.seed, g.serialLog]) {
    if (path.dirname(f) !== g.dir && !path.dirname(f).startsWith(g.dir + path.sep)) throw new Error(`${f} is not in ${g.dir}: refusing to change its owner`);
  }
  const anyShared = g.frozen.some((f) => g.shared.has(f)) || g.shared.has(g.active);
  const rules: FileRule[] = [
    { path: g.dir, uid: 0, gid, mode: anyShared ? 0o1771 : 0o1770 },
    { path: g.active, uid, gid, mode: 0o600 },
    { path: g.seed, uid: 0, gid, mode: 0o640 },
    { path: g.serialLog, uid, gid, mode: 0o600 },
  ];
  for (const f of g.frozen) {
    if (f === g.active) continue;
    rules.push(g.shared.has(f) ? { path: f, uid: 0, gid: 0, mode: 0o644 } : { path: f, uid: 0, gid, mode: 0o640 });
  }
  return rules;
}

/** A destroyed guest's kept files: root's, readable by the clones that build on them, in a directory nobody lists. */
export function releaseKeptDir(dir: string): void {
  if (!existsSync(dir)) return;
  const rules: FileRule[] = [{ path: dir, uid: 0, gid: 0, mode: 0o711 }];
  for (const name of readdirSync(dir)) rules.push({ path: path.join(dir, name), uid: 0, gid: 0, mode: 0o644 });
  applyFileRules(rules);
}

/** Whether /proc hides other users' processes (hidepid=2 / invisible). */
function procHidesOthers(procRoot = '/proc'): boolean {
  try {
    const line = readFileSync(path.join(procRoot, 'self', 'mountinfo'), 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/proc');
    return /hidepid=(2|invisible)/.test(line ?? '');
  } catch {
    return false;
  }
}

export class GuestJail {
  private readonly users = new Map<Acceleration, UserIsolationProbe>();
  readonly uids: GuestUids;
  readonly cgroups: GuestCgroups | null;
  private readonly cgroupReport: CgroupReport;
  private readonly setpriv: string | null = findSetpriv();

  constructor(
    private readonly opts: {
      guestsDir: string;
      /** Directories Cirrus made that guests' users pass through (its data directory, the captured images'). */
      ownDirs: string[];
      /** Directories guests' users must reach (the image catalog). */
      reachDirs: string[];
      /** 'off' runs guests as the server's user without cgroups (benchmarks comparing with and without). */
      mode?: 'on' | 'off';
      /** The host CPUs guests may run on (a CPU list); the others are kept for the host. Default: all. */
      cpus?: string | null;
      procRoot?: string;
      euid?: number;
      /** Where guest uids are claimed (default: the host's registry, HOST_UIDS_DIR). */
      uidsDir?: string;
      /** The guests' parent cgroup's name (default cirrus-guests). */
      cgroupParent?: string;
    },
  ) {
    // One registry for the machine (two data directories must never share a uid); a server that is not root runs guests as itself.
    this.uids = new GuestUids(opts.uidsDir ?? ((opts.euid ?? process.geteuid?.() ?? 0) === 0 ? HOST_UIDS_DIR : path.join(opts.guestsDir, '.uids')), opts.guestsDir);
    if (opts.mode === 'off') {
      this.cgroups = null;
      this.cgroupReport = { enforced: false, versions: '', controllers: [], missing: ['cgroup limits (turned off for this driver)'] };
    } else {
      const { cgroups, report } = GuestCgroups.open(opts.procRoot, { cpus: opts.cpus ?? null, parent: opts.cgroupParent });
      this.cgroups = cgroups;
      this.cgroupReport = report;
    }
  }

  /** Whether guests run as users of their own under `accel` (probed once per accelerator). */
  userIsolation(accel: Acceleration): UserIsolationProbe {
    let p = this.users.get(accel);
    if (!p) {
      p =
        this.opts.mode === 'off'
          ? { enforced: false, detail: "guests run as the server's own user: user isolation is turned off for this driver", extraGroups: [], changes: [] }
          : probeUserIsolation({
              euid: this.opts.euid ?? process.geteuid?.() ?? 0,
              ownDirs: [this.opts.guestsDir, ...this.opts.ownDirs],
              reachDirs: [this.opts.guestsDir, ...this.opts.reachDirs],
              kvm: accel === 'kvm',
            });
      this.users.set(accel, p);
    }
    return p;
  }

  /** The user a guest with uid `uid` runs as under `accel`; null where guests run as the server. */
  userOf(uid: number | null | undefined, accel: Acceleration): GuestUser | null {
    const u = this.userIsolation(accel);
    if (!u.enforced || uid === null || uid === undefined) return null;
    return { uid, gid: uid, groups: u.extraGroups };
  }

  runAs(user: GuestUser | null): { setpriv: string; user: GuestUser } | null {
    return user && this.setpriv ? { setpriv: this.setpriv, user } : null;
  }

  report(accel: Acceleration): HostIsolation {
    const u = this.userIsolation(accel);
    const cg = this.cgroupReport;
    const missing = [...(u.enforced ? [] : [`a user per guest (${u.detail.replace(/^guests run as the server's own user: /, '')})`]), ...cg.missing];
    if (accel === 'tcg') missing.push('hardware virtualization (no usable KVM: guests are emulated by TCG, slower, and QEMU’s emulator is a larger attack surface)');
    if (u.enforced && !procHidesOthers(this.opts.procRoot)) {
      missing.push('hiding other processes (/proc is mounted without hidepid=invisible: a guest’s user can read other guests’ QEMU command lines, which name their files)');
    }
    return {
      user: { enforced: u.enforced, detail: u.detail },
      cgroups: {
        enforced: cg.enforced,
        detail: cg.controllers.length
          ? `a cgroup per guest (${cg.versions}): ${cg.controllers
              .map((c) => ({ cpu: 'CPU weight ∝ vCPUs and a ceiling of that many CPUs', memory: 'memory limit of its RAM plus QEMU’s overhead', io: 'I/O weight ∝ vCPUs', pids: `at most ${PIDS_MAX} tasks`, cpuset: `kept to CPUs ${this.opts.cpus} (the others are the host’s)` })[c])
              .join('; ')}`
          : 'no cgroup limits: guests compete under the kernel’s defaults',
        controllers: cg.controllers,
      },
      seccomp: { enforced: true, detail: 'QEMU’s full seccomp filter: obsolete calls, privilege changes, spawning processes and resource control denied' },
      acceleration: accel,
      changes: u.changes,
      missing,
    };
  }

  // Taps ---------------------------------------------------------------------

  /**
   * Make each tap, owned by `user`, before its QEMU starts: a user without
   * CAP_NET_ADMIN can attach to a tap made for it, not create one. Persistent
   * until `removeTaps` (the network agent bridges and shapes them meanwhile).
   */
  async makeTaps(user: GuestUser, taps: string[]): Promise<void> {
    for (const tap of taps) {
      if (!TAP_PATTERN.test(tap)) throw new Error(`not a Cirrus tap: ${tap}`);
      if (existsSync(`/sys/class/net/${tap}`)) await run('ip', ['link', 'del', 'dev', tap]).catch(() => undefined);
      await run('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap', 'user', String(user.uid), 'group', String(user.gid)]);
    }
  }

  /** Remove taps a guest's QEMU no longer holds (those it still holds go with it when it ends). */
  async removeTaps(taps: string[]): Promise<void> {
    for (const tap of taps) {
      if (!TAP_PATTERN.test(tap) || !existsSync(`/sys/class/net/${tap}`)) continue;
      await run('ip', ['link', 'del', 'dev', tap]).catch(() => undefined);
    }
  }

  // Cgroups ------------------------------------------------------------------

  limitsFor(shape: { vcpus: number; memoryMiB: number }, accel: Acceleration): GuestLimits {
    return { vcpus: shape.vcpus, memoryMiB: shape.memoryMiB, overheadMiB: qemuOverheadMiB(accel) };
  }

  /** Volume files: the attached guest's user's while attached, root's otherwise; their directory passable. */
  ownVolume(file: string, user: GuestUser | null): void {
    if (!existsSync(file)) return;
    const dir = path.dirname(file);
    const st = statSync(dir);
    if (user && (st.mode & 0o001) === 0 && st.uid === 0) chmodSync(dir, (st.mode & 0o7777) | 0o001);
    applyFileRules([{ path: file, uid: user?.uid ?? 0, gid: user?.gid ?? 0, mode: 0o600 }]);
  }
}

export type { GuestGroup };
