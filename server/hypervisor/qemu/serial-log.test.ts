import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capLog, capSerialLog, readSerialLog, resetSerialLog } from './serial-log';

let dir: string;
let files: { serialLog: string; serialLogOld: string };
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-serial-'));
  files = { serialLog: path.join(dir, 'serial.log'), serialLogOld: path.join(dir, 'serial.log.1') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('serial log', () => {
  it('is emptied at start, capped while it grows, and read across the rotation', async () => {
    resetSerialLog(files);
    expect(readFileSync(files.serialLog, 'utf8')).toBe('');
    appendFileSync(files.serialLog, 'a'.repeat(90) + '0123456789');
    expect(capSerialLog(files, 200, 10)).toBe(false);
    expect(capSerialLog(files, 50, 10)).toBe(true);
    expect(readFileSync(files.serialLog, 'utf8')).toBe('');
    appendFileSync(files.serialLog, 'NEW');
    expect(await readSerialLog(files, 1000)).toBe('0123456789NEW');
    expect(await readSerialLog(files, 5)).toBe('789NEW'.slice(-5));
    resetSerialLog(files);
    expect(await readSerialLog(files, 1000)).toBe('');
  });

  it('reads only the tail of a huge log (its guest decides its size) and follows no link', async () => {
    resetSerialLog(files);
    truncateSync(files.serialLog, 2 ** 30); // a sparse gigabyte
    appendFileSync(files.serialLog, 'the end');
    const t0 = performance.now();
    expect(capSerialLog(files, 1024, 16)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(readFileSync(files.serialLogOld, 'utf8').endsWith('the end')).toBe(true);
    expect(statSync(files.serialLog).size).toBe(0);
    // A link in its place is neither read nor cut.
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'x'.repeat(100));
    rmSync(files.serialLog);
    symlinkSync(victim, files.serialLog);
    expect(capSerialLog(files, 10, 5)).toBe(false);
    expect(await readSerialLog(files, 1000)).not.toContain('x'); // only what the rotation kept
    expect(readFileSync(victim, 'utf8')).toHaveLength(100);
  });

  it('cuts QEMU’s own log, which it appends to, once it passes its cap', () => {
    const log = path.join(dir, 'qemu.log');
    writeFileSync(log, 'y'.repeat(50), { flag: 'ax' });
    expect(capLog(log, 100)).toBe(false);
    appendFileSync(log, 'y'.repeat(100));
    expect(capLog(log, 100)).toBe(true);
    expect(statSync(log).size).toBe(0);
    expect(capLog(path.join(dir, 'absent.log'), 1)).toBe(false);
  });
});
