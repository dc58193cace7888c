import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeCpio } from './cpio';
import { orderModules } from './kernel-modules';
import { WANTED_MODULES } from './tiny-linux-init';

/** Read a newc archive back: name → { mode, data }. */
function readCpio(buf: Buffer): Map<string, { mode: number; data: Buffer; rdev: [number, number] }> {
  const out = new Map<string, { mode: number; data: Buffer; rdev: [number, number] }>();
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(buf.toString('ascii', off, off + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataStart = align(off + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.set(name, { mode, data: buf.subarray(dataStart, dataStart + size), rdev });
    off = align(dataStart + size);
  }
}

describe('writeCpio', () => {
  it('writes a newc archive with files, symlinks, directories and device nodes', () => {
    const archive = writeCpio([
      { kind: 'dir', path: 'dev' },
      { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: '/init.sh', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { kind: 'symlink', path: 'init', target: 'bin/busybox' },
    ]);
    expect(archive.length % 4).toBe(0);
    const entries = readCpio(archive);
    expect([...entries.keys()]).toEqual(['dev', 'dev/console', 'init.sh', 'init']);
    expect(entries.get('dev/console')).toMatchObject({ mode: 0o020600, rdev: [5, 1] });
    expect(entries.get('init.sh')?.data.toString()).toBe('#!/bin/sh\n');
    expect(entries.get('init.sh')?.mode).toBe(0o100755);
    expect(entries.get('init')?.data.toString()).toBe('bin/busybox');
  });
});

describe('orderModules', () => {
  const deps: Record<string, string[]> = {
    virtio_ring: [],
    virtio: ['virtio_ring'],
    virtio_pci_modern_dev: [],
    virtio_pci_legacy_dev: [],
    virtio_pci: ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio'],
    virtio_blk: ['virtio', 'virtio_ring'],
    failover: [],
    net_failover: ['failover'],
    virtio_net: ['virtio_ring', 'virtio', 'net_failover'],
  };
  it('puts dependencies first (as Debian 6.1 .modinfo declares them)', () => {
    const order = orderModules(['virtio_net', 'virtio_blk', 'virtio_pci'], (n) => deps[n] ?? []);
    const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    before('virtio_ring', 'virtio');
    before('virtio', 'virtio_pci');
    before('virtio_pci_modern_dev', 'virtio_pci');
    before('failover', 'net_failover');
    before('net_failover', 'virtio_net');
    expect(new Set(order).size).toBe(order.length);
  });

  it('refuses a cycle', () => {
    expect(() => orderModules(['a'], (n) => (n === 'a' ? ['b'] : ['a']))).toThrow(/cycle/);
  });
});

// The built image (npm run images) loads the virtio drivers in the order the issue asks for.
const builtInitrd = path.resolve(import.meta.dirname, '../../.data/images/cirrus-tiny-linux/initrd.img');
describe.runIf(existsSync(builtInitrd))('the built Cirrus Tiny Linux initramfs', () => {
  it('loads virtio_ring, virtio, the virtio_pci parts, virtio_pci, virtio_blk, failover, net_failover, virtio_net in that order', () => {
    const entries = readCpio(gunzipSync(readFileSync(builtInitrd)));
    const order = entries.get('etc/cirrus/modules')?.data.toString().trim().split('\n') ?? [];
    const virtio = order.filter((m) => WANTED_MODULES.slice(0, 9).includes(m));
    expect(virtio).toEqual(['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'failover', 'net_failover', 'virtio_net']);
    for (const m of order) expect(entries.has(`lib/modules/${m}.ko`)).toBe(true);
    expect(entries.get('dev/console')?.rdev).toEqual([5, 1]);
    expect(entries.get('init')?.data.toString()).toBe('bin/busybox');
  });
});
