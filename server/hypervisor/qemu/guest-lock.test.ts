import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withGuestFileLock } from './guest-lock';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('withGuestFileLock', () => {
  it('runs operations on one guest one at a time and releases the lock', async () => {
    const log: string[] = [];
    const op = (name: string) =>
      withGuestFileLock(dir, 'vm', async () => {
        log.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 30));
        log.push(`${name}:out`);
      });
    await Promise.all([op('a'), op('b')]);
    expect(log).toEqual(['a:in', 'a:out', 'b:in', 'b:out']);
    expect(existsSync(path.join(dir, 'vm.lock'))).toBe(false);
  });

  it('takes over a lock whose owner is dead, and times out on a live one', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'vm.lock'), '999999999');
    await expect(withGuestFileLock(dir, 'vm', async () => 'ran')).resolves.toBe('ran');
    writeFileSync(path.join(dir, 'vm.lock'), String(process.ppid));
    await expect(withGuestFileLock(dir, 'vm', async () => 'ran', 200)).rejects.toThrow(/busy/);
  });
});
