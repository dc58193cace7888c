// Each guest's QEMU runs as a user of its own. One uid per guest, not one
// shared "qemu" user: without SELinux or AppArmor labels (libvirt's sVirt),
// file ownership is the only thing that keeps one guest's QEMU out of
// another's disks, and a shared user would let any escaped QEMU read them all.
//
// A guest's uid and gid are the same number, from a range no distribution
// hands out (0x70000000 up: systemd's "unused" block), claimed in a registry
// shared by every Cirrus data directory on the machine (/var/lib/cirrus) and
// recorded in the guest's record. The user
// has no name, no home, no supplementary groups (but the KVM device's group
// where KVM is used) and no capabilities; QEMU is started through util-linux's
// setpriv, which sets exactly that and then execs it.
//
// 1. Claiming uids.  2. Whether this host can run guests as their own users.
// 3. The argv that starts a program as a guest user.
import { accessSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const GUEST_UID_BASE = 0x7000_0000;
export const GUEST_UID_COUNT = 65_536;

export interface GuestUser {
  uid: number;
  gid: number;
  /** Supplementary groups (the KVM device's, where KVM needs one). */
  groups: number[];
}

export function isGuestUid(uid: number): boolean {
  return Number.isSafeInteger(uid) && uid >= GUEST_UID_BASE && uid < GUEST_UID_BASE + GUEST_UID_COUNT;
}

// 1. Claims ------------------------------------------------------------------

/** Where a host's guest uids are claimed: one place for every Cirrus data directory on the machine. */
export const HOST_UIDS_DIR = '/var/lib/cirrus/guest-uids';

/**
 * The uids claimed on this host: a file per uid naming the guests directory
 * and guest it is for. Host-wide, because two data directories on one machine
 * (two servers, test runs) must never give two guests the same user. A claim
 * whose guest no longer exists and whose uid runs nothing is stale and taken
 * over. Claims and releases hold a lock (a directory made atomically).
 */
export class GuestUids {
  constructor(
    private readonly dir: string,
    /** The guests directory claims are made for. */
    private readonly guestsDir: string,
  ) {}

  private withLock<T>(fn: () => T): T {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const lock = path.join(this.dir, '.lock');
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        mkdirSync(lock);
        writeFileSync(path.join(lock, 'pid'), String(process.pid));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // A holder that died leaves its lock: its pid says so.
        const holder = Number(readText(path.join(lock, 'pid')));
        if (holder && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
        else if (Date.now() > until) throw new Error(`the guest uid registry ${this.dir} stayed locked for 10 s`);
        else sleepSync(10);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }

  /** A free uid for guest `id` (whose directory is in `guestsDir`: this registry's, or a shared pool's), claimed for it. */
  claim(id: string, guestsDir = this.guestsDir): number {
    return this.withLock(() => {
      const claims = new Map(this.claims().map((c) => [c.uid, c]));
      for (let uid = GUEST_UID_BASE; uid < GUEST_UID_BASE + GUEST_UID_COUNT; uid++) {
        const c = claims.get(uid);
        if (c && !isStale(c, uid)) continue;
        writeFileSync(path.join(this.dir, String(uid)), JSON.stringify({ guestsDir, id }), { mode: 0o600 });
        return uid;
      }
      throw new Error(`all ${GUEST_UID_COUNT} guest uids are in use`);
    });
  }

  /** Give `uid` back, if it is still this guest's. */
  release(uid: number, id: string, guestsDir = this.guestsDir): void {
    if (!isGuestUid(uid)) return;
    this.withLock(() => {
      const c = this.claims().find((x) => x.uid === uid);
      if (c && c.id === id && c.guestsDir === guestsDir) rmSync(path.join(this.dir, String(uid)), { force: true });
    });
  }

  /** Every claim on the host. */
  claims(): { uid: number; guestsDir: string; id: string }[] {
    const out: { uid: number; guestsDir: string; id: string }[] = [];
    if (!existsSync(this.dir)) return out;
    for (const name of readdirSync(this.dir)) {
      const uid = Number(name);
      if (!isGuestUid(uid)) continue;
      try {
        const c = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as { guestsDir: string; id: string };
        out.push({ uid, guestsDir: c.guestsDir, id: c.id });
      } catch {
        // Released meanwhile, or not a claim.
      }
    }
    return out;
  }
}

/** A claim whose guest's record is gone (its data directory deleted) and whose uid runs nothing. */
function isStale(c: { guestsDir: string; id: string }, uid: number): boolean {
  return !existsSync(path.join(c.guestsDir, c.id, 'guest.json')) && processesOfUid(uid).length === 0;
}

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// 2. Can this host do it? -------------------------------------------------------

export interface UserIsolationProbe {
  /** Guests get users of their own. */
  enforced: boolean;
  /** In words for an operator: what is done, or why not. */
  detail: string;
  /** Groups every guest user also needs (the KVM device's). */
  extraGroups: number[];
  /** What Cirrus keeps set on the host for it (said in the report; set by the probe where it was not). */
  changes: string[];
}

const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

export function findSetpriv(): string | null {
  return SETPRIV_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/**
 * The first directory from `dir` up to / that others (a guest's uid) cannot
 * pass through, or null. One not made yet is judged by where it will be.
 */
function blockedAncestor(dir: string): string | null {
  let d = path.resolve(dir);
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  for (;;) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      return d;
    }
    const up = path.dirname(d);
    if (up === d) return null;
    d = up;
  }
}

/**
 * Whether guests can run as users of their own here, making what Cirrus owns
 * fit: `ownDirs` (the guests directory and the data directory it is in) get
 * traverse-only permission for others (o=x: nothing is listed), and
 * /dev/net/tun the world read-write mode Debian's udev gives it (a tap is still
 * opened only by the user it was made for).
 */
export function probeUserIsolation(opts: {
  euid: number;
  /** Directories Cirrus made and owns: others may pass through them, not list them (the data directory, the guests'). */
  ownDirs: string[];
  /** Directories guests' users must reach (the guests', the images'); the way to them is checked, not changed. */
  reachDirs: string[];
  kvm: boolean;
  tunDevice?: string;
  kvmDevice?: string;
}): UserIsolationProbe {
  const no = (why: string): UserIsolationProbe => ({ enforced: false, detail: `guests run as the server's own user: ${why}`, extraGroups: [], changes: [] });
  if (opts.euid !== 0) return no(`it is not root (uid ${opts.euid}), so it cannot start QEMU as another user`);
  if (!findSetpriv()) return no('util-linux’s setpriv is not installed');
  const changes: string[] = [];
  for (const d of opts.ownDirs) {
    if (!existsSync(d)) continue;
    const st = statSync(d);
    const want = (st.mode & 0o7770) | 0o001;
    if (st.uid !== opts.euid) continue;
    if ((st.mode & 0o7777) !== want) chmodSync(d, want);
    changes.push(`${d}: others may pass through it, not list or change it (o=x)`);
  }
  for (const d of opts.reachDirs) {
    const blocked = blockedAncestor(d);
    if (blocked) return no(`${blocked} does not let other users pass through (it needs o+x), so a guest's user could not reach ${d}`);
  }
  const tun = opts.tunDevice ?? '/dev/net/tun';
  if (existsSync(tun)) {
    const st = statSync(tun);
    if ((st.mode & 0o006) !== 0o006) chmodSync(tun, 0o666);
    changes.push(`${tun}: mode 0666 (as Debian's udev rules make it), so a guest's user can open the tap made for it (and no other)`);
  }
  const extraGroups: number[] = [];
  if (opts.kvm) {
    const dev = opts.kvmDevice ?? '/dev/kvm';
    const st = statSync(dev);
    if ((st.mode & 0o006) === 0o006) {
      // Anyone may open it.
    } else if ((st.mode & 0o060) === 0o060 && st.gid !== 0) {
      extraGroups.push(st.gid);
    } else {
      return no(`${dev} is open to root only (mode ${(st.mode & 0o777).toString(8)}); give it a group (e.g. root:kvm 0660) for guests' users to use KVM`);
    }
  }
  try {
    accessSync(findSetpriv()!, constants.X_OK);
  } catch {
    return no('setpriv cannot be run');
  }
  return {
    enforced: true,
    detail: `each guest's QEMU runs as a user of its own (uid ${GUEST_UID_BASE} and up), with no capabilities and no new privileges`,
    extraGroups,
    changes,
  };
}

// 3. Starting a program as a guest user -----------------------------------------------

/**
 * setpriv's argv that runs `binary args…` as `user`: real and effective ids
 * set, groups replaced, every capability dropped from every set (bounding
 * included), and no_new_privs so nothing it execs can gain any.
 */
export function runAsArgv(setpriv: string, user: GuestUser, binary: string, args: string[]): [string, string[]] {
  for (const n of [user.uid, user.gid, ...user.groups]) if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad id ${n}`);
  if (!isGuestUid(user.uid)) throw new Error(`uid ${user.uid} is not a guest uid`);
  return [
    setpriv,
    [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      ...(user.groups.length ? [`--groups=${user.groups.join(',')}`] : ['--clear-groups']),
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      binary,
      ...args,
    ],
  ];
}

// 4. A guest user's processes ---------------------------------------------------------

/**
 * Every process running as `uid` (from /proc: its real uid, which no process
 * can forge, unlike a pid file or a command line). A guest's QEMU cannot fork,
 * so normally one.
 */
export function processesOfUid(uid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(path.join(procRoot, entry, 'status'), 'latin1');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      if (m && Number(m[1]) === uid && state !== 'Z' && state !== 'X') out.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/**
 * Kill every process of a guest user and wait until none is left: whatever a
 * guest escaped into cannot outlive its stop, and a uid is given to another
 * guest only once nothing runs as it. True when none is left.
 */
export async function killAllOfUid(uid: number, waitMs = 5_000): Promise<boolean> {
  if (!isGuestUid(uid)) throw new Error(`uid ${uid} is not a guest uid`);
  const until = Date.now() + waitMs;
  for (;;) {
    const left = processesOfUid(uid);
    if (left.length === 0) return true;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Ended meanwhile.
      }
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** World-writable places a guest's user can leave files in, which would outlive its QEMU and pass to the uid's next guest. */
export const SHARED_TMP_DIRS = ['/dev/shm', '/tmp', '/var/tmp', '/run/lock'];

/**
 * Remove what a guest user left in the shared temporary directories (its
 * top-level entries there; /dev/shm's also pin memory). Once nothing runs as
 * it. The entries removed.
 */
export function removeFilesOfUid(uid: number, dirs = SHARED_TMP_DIRS): string[] {
  if (!isGuestUid(uid)) throw new Error(`uid ${uid} is not a guest uid`);
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const f = path.join(dir, name);
      try {
        if (lstatSync(f).uid !== uid) continue;
        rmSync(f, { recursive: true, force: true });
        removed.push(f);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return removed;
}
