import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GUEST_UID_BASE, GuestUids, probeUserIsolation, removeFilesOfUid, runAsArgv } from './users';

const isRoot = process.geteuid?.() === 0;
let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'cirrus-users-'));
  chmodSync(root, 0o755);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o7777;
const dev = (name: string, m: number, gid = 0) => {
  const p = path.join(root, name);
  writeFileSync(p, '');
  chmodSync(p, m);
  if (gid) chownSync(p, 0, gid);
  return p;
};

describe('guest uids', () => {
  const guestIn = (guests: string, id: string) => {
    mkdirSync(path.join(guests, id), { recursive: true });
    writeFileSync(path.join(guests, id, 'guest.json'), '{}');
  };

  it('claims the lowest free uid per guest, never twice on the machine, and gives it back only for its own guest', () => {
    const registry = path.join(root, 'uids');
    const [one, two] = [path.join(root, 'data-1', 'guests'), path.join(root, 'data-2', 'guests')];
    for (const id of ['guest-a', 'guest-b', 'guest-d']) guestIn(one, id);
    guestIn(two, 'guest-c');
    const uids = new GuestUids(registry, one);
    const a = uids.claim('guest-a');
    const b = uids.claim('guest-b');
    expect([a, b]).toEqual([GUEST_UID_BASE, GUEST_UID_BASE + 1]);
    // Another data directory's driver shares the registry: never the same uid.
    expect(new GuestUids(registry, two).claim('guest-c')).toBe(GUEST_UID_BASE + 2);
    uids.release(a, 'guest-b'); // not b's: stays
    new GuestUids(registry, two).release(a, 'guest-a'); // not that data directory's: stays
    expect(uids.claims().map((c) => c.uid)).toContain(a);
    uids.release(a, 'guest-a');
    expect(uids.claim('guest-d')).toBe(GUEST_UID_BASE);
  });

  it('takes over a claim whose data directory is gone and whose uid runs nothing', () => {
    const registry = path.join(root, 'uids');
    const gone = path.join(root, 'gone', 'guests');
    guestIn(gone, 'old');
    expect(new GuestUids(registry, gone).claim('old')).toBe(GUEST_UID_BASE);
    rmSync(path.join(root, 'gone'), { recursive: true });
    const here = path.join(root, 'here', 'guests');
    guestIn(here, 'new');
    expect(new GuestUids(registry, here).claim('new')).toBe(GUEST_UID_BASE);
  });
});

describe('probeUserIsolation', () => {
  const base = () => ({ ownDirs: [] as string[], reachDirs: [] as string[], kvm: false, tunDevice: dev('tun', 0o666) });

  it('needs root', () => {
    const p = probeUserIsolation({ ...base(), euid: 1000 });
    expect(p).toMatchObject({ enforced: false, detail: expect.stringMatching(/not root \(uid 1000\)/) });
  });

  it.runIf(isRoot)('opens its own directories to passing through (never listing), and /dev/net/tun to taps’ owners', () => {
    const data = path.join(root, 'data');
    mkdirSync(path.join(data, 'guests'), { recursive: true, mode: 0o755 });
    chmodSync(data, 0o755);
    chmodSync(path.join(data, 'guests'), 0o700);
    const tun = dev('tun', 0o600);
    const p = probeUserIsolation({ euid: 0, ownDirs: [path.join(data, 'guests'), data], reachDirs: [], kvm: false, tunDevice: tun });
    expect(p.enforced).toBe(true);
    expect([mode(path.join(data, 'guests')), mode(data), mode(tun)]).toEqual([0o701, 0o751, 0o666]);
    expect(p.changes).toHaveLength(3);
  });

  it.runIf(isRoot)('says why not when a directory it does not own blocks the way', () => {
    const theirs = path.join(root, 'home-of-someone');
    mkdirSync(path.join(theirs, 'cirrus'), { recursive: true });
    chownSync(theirs, 1000, 1000);
    chmodSync(theirs, 0o700);
    const p = probeUserIsolation({ ...base(), euid: 0, ownDirs: [], reachDirs: [path.join(theirs, 'cirrus')] });
    expect(p).toMatchObject({ enforced: false, detail: expect.stringContaining(`${theirs} does not let other users pass through`) });
    expect(mode(theirs)).toBe(0o700); // not changed: it is not Cirrus's
  });

  it.runIf(isRoot)('gives guests the KVM device’s group, or says KVM is root’s alone', () => {
    const shared = probeUserIsolation({ ...base(), euid: 0, kvm: true, kvmDevice: dev('kvm-group', 0o660, 36) });
    expect(shared).toMatchObject({ enforced: true, extraGroups: [36] });
    expect(probeUserIsolation({ ...base(), euid: 0, kvm: true, kvmDevice: dev('kvm-open', 0o666) })).toMatchObject({ enforced: true, extraGroups: [] });
    expect(probeUserIsolation({ ...base(), euid: 0, kvm: true, kvmDevice: dev('kvm-root', 0o600) })).toMatchObject({
      enforced: false,
      detail: expect.stringMatching(/open to root only \(mode 600\)/),
    });
  });
});

describe('runAsArgv', () => {
  it('sets the ids, replaces the groups, drops every capability and forbids new privileges before it execs', () => {
    const user = { uid: GUEST_UID_BASE + 7, gid: GUEST_UID_BASE + 7, groups: [] };
    expect(runAsArgv('/usr/bin/setpriv', user, 'qemu-system-x86_64', ['-name', 'g'])).toEqual([
      '/usr/bin/setpriv',
      [`--reuid=${GUEST_UID_BASE + 7}`, `--regid=${GUEST_UID_BASE + 7}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', 'qemu-system-x86_64', '-name', 'g'],
    ]);
    expect(runAsArgv('/usr/bin/setpriv', { ...user, groups: [36] }, 'q', [])[1]).toContain('--groups=36');
    expect(() => runAsArgv('/usr/bin/setpriv', { uid: 0, gid: 0, groups: [] }, 'q', [])).toThrow(/not a guest uid/);
  });
});

describe.runIf(isRoot)('what a guest user leaves behind', () => {
  it('is removed from the shared temporary directories, and nobody else’s is', () => {
    const shm = path.join(root, 'shm');
    mkdirSync(shm);
    const uid = GUEST_UID_BASE + 9;
    for (const [name, owner] of [['left-by-guest', uid], ['dir-by-guest', uid], ['someone-elses', 0]] as const) {
      const f = path.join(shm, name);
      if (name.startsWith('dir')) mkdirSync(f);
      else writeFileSync(f, 'x');
      chownSync(f, owner, owner);
    }
    expect(removeFilesOfUid(uid, [shm, path.join(root, 'missing')]).map((f) => path.basename(f)).sort()).toEqual(['dir-by-guest', 'left-by-guest']);
    expect(readdirSync(shm)).toEqual(['someone-elses']);
  });
});
