import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reachableDir, traversableByOthers } from './reachable';

const isRoot = process.geteuid?.() === 0;
let base: string;
const made: string[] = [];
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'cirrus-reach-'));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.runIf(isRoot)('reachableDir', () => {
  it('keeps a directory in the data directory when others can reach it, and lets them pass through the data directory', () => {
    chmodSync(base, 0o755);
    const data = path.join(base, 'data');
    mkdirSync(data, { mode: 0o700 });
    const dir = reachableDir(data, 'guests', { mode: 0o711 });
    expect(dir).toBe(path.join(data, 'guests'));
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    expect(statSync(data).mode & 0o011).toBe(0o011);
    expect(traversableByOthers(dir)).toBe(true);
  });

  it('moves it under /var/lib/cirrus, linked from the data directory, when a directory above is closed and not Cirrus’s', () => {
    const theirs = path.join(base, 'home');
    const data = path.join(theirs, 'checkout', '.data');
    mkdirSync(data, { recursive: true });
    chownSync(theirs, 1000, 1000);
    chmodSync(theirs, 0o700);
    const logged: string[] = [];
    const dir = reachableDir(data, 'images', { mode: 0o755, log: (m) => logged.push(m) });
    made.push(path.dirname(dir));
    expect(dir).toMatch(/^\/var\/lib\/cirrus\/[0-9a-f]{16}\/images$/);
    expect(traversableByOthers(dir)).toBe(true);
    expect(lstatSync(path.join(data, 'images')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(data, 'images'))).toBe(dir);
    expect(logged).toEqual([expect.stringContaining(`images lives in ${dir}`)]);
    // Asked again (the next start), the same place.
    expect(reachableDir(data, 'images', { mode: 0o755 })).toBe(dir);
    // The closed directory is not Cirrus's: it is left as it was.
    expect(statSync(theirs).mode & 0o777).toBe(0o700);
    expect(existsSync(dir)).toBe(true);
  });
});
