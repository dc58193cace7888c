import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pendSwitch, readChain, switchedTo } from './disk-chain';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-chain-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a switch QEMU reports after a crash', () => {
  it('is taken only when it is the one the server recorded before asking for it', () => {
    const chain = readChain(dir, path.join(dir, 'disk.qcow2'));
    // No switch recorded: whatever QEMU says it writes to is refused.
    expect(() => switchedTo('g', chain, path.join(dir, 'disk-aaaaaaaaaaaa.qcow2'))).toThrow(/did not give it/);
    pendSwitch(dir, chain, path.join(dir, 'disk-bbbbbbbbbbbb.qcow2'));
    const recorded = readChain(dir, path.join(dir, 'disk.qcow2'));
    expect(switchedTo('g', recorded, path.join(dir, 'disk-bbbbbbbbbbbb.qcow2'))).toBe(path.join(dir, 'disk-bbbbbbbbbbbb.qcow2'));
    // A QEMU a guest escaped into may name any file: the server's secrets, another guest's disk.
    for (const made of ['/etc/shadow', path.join(dir, '..', 'other-guest', 'disk.qcow2')]) expect(() => switchedTo('g', recorded, made)).toThrow(/did not give it/);
  });
});
