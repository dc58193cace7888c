import { describe, expect, it } from 'vitest';
import { guestFileRules, qemuOverheadMiB } from './jail';

describe('guestFileRules', () => {
  const user = { uid: 0x7000_0003, gid: 0x7000_0003, groups: [] };
  const g = {
    dir: '/d/guests/web',
    user,
    active: '/d/guests/web/disk-c.qcow2',
    frozen: ['/d/guests/web/disk.qcow2', '/d/guests/web/disk-b.qcow2'],
    seed: '/d/guests/web/seed.iso',
    serialLog: '/d/guests/web/serial.log',
  };
  const N = 0x7000_0003;

  it('gives the guest’s user what its QEMU writes, and only read access to what it reads', () => {
    expect(guestFileRules({ ...g, shared: new Set() })).toEqual([
      // Sticky and root's: QEMU makes its files here, never renames or removes the server's.
      { path: '/d/guests/web', uid: 0, gid: N, mode: 0o1770 },
      { path: '/d/guests/web/disk-c.qcow2', uid: N, gid: N, mode: 0o600 },
      { path: '/d/guests/web/seed.iso', uid: 0, gid: N, mode: 0o640 },
      { path: '/d/guests/web/serial.log', uid: N, gid: N, mode: 0o600 },
      { path: '/d/guests/web/disk.qcow2', uid: 0, gid: N, mode: 0o640 },
      { path: '/d/guests/web/disk-b.qcow2', uid: 0, gid: N, mode: 0o640 },
    ]);
  });

  it('opens the points linked clones read (and the way to them) to every guest user, read-only', () => {
    const rules = guestFileRules({ ...g, shared: new Set(['/d/guests/web/disk.qcow2']) });
    expect(rules[0]).toEqual({ path: '/d/guests/web', uid: 0, gid: N, mode: 0o1771 });
    expect(rules.find((r) => r.path === '/d/guests/web/disk.qcow2')).toEqual({ path: '/d/guests/web/disk.qcow2', uid: 0, gid: 0, mode: 0o644 });
    expect(rules.find((r) => r.path === '/d/guests/web/disk-b.qcow2')?.mode).toBe(0o640);
  });

  it('allows QEMU its translation cache and the rest on top of the guest’s memory', () => {
    expect(qemuOverheadMiB('tcg')).toBe(256);
    expect(qemuOverheadMiB('kvm')).toBe(128);
  });
});
