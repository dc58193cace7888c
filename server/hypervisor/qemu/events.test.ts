import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestEventOf, readTail, shutdownOf, stopReasonOf } from './events';

describe('QMP events to guest events', () => {
  const ts = { seconds: 1795449600, microseconds: 250_000 };
  it('maps RESET, STOP and RESUME, with QEMU’s timestamp', () => {
    expect(guestEventOf('vm', { event: 'RESET', timestamp: ts }, false)).toEqual({ type: 'reset', id: 'vm', at: new Date(1795449600250) });
    expect(guestEventOf('vm', { event: 'STOP', timestamp: ts }, false)?.type).toBe('paused');
    expect(guestEventOf('vm', { event: 'RESUME', timestamp: ts }, false)?.type).toBe('resumed');
  });

  it('ignores a STOP that is part of a shutdown, and events it does not know', () => {
    expect(guestEventOf('vm', { event: 'STOP' }, true)).toBeNull();
    expect(guestEventOf('vm', { event: 'POWERDOWN' }, false)).toBeNull();
  });

  it.each([
    ['the guest powered off', false, { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } }, 'guest-shutdown'],
    ['QEMU got SIGTERM', false, { event: 'SHUTDOWN', data: { guest: false, reason: 'host-signal' } }, 'killed'],
    ['Cirrus forced it', true, { event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } }, 'killed'],
    ['QEMU vanished (kill -9, crash)', false, null, 'crashed'],
  ] as const)('stop reason when %s', (_what, forced, shutdown, reason) => {
    expect(stopReasonOf(forced, shutdown ? shutdownOf(shutdown) : null)).toBe(reason);
  });
});

describe('readTail', () => {
  it('returns at most the last N bytes, or nothing for a missing file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-tail-'));
    try {
      writeFileSync(path.join(dir, 'log'), 'hello serial world');
      expect(await readTail(path.join(dir, 'log'), 5)).toBe('world');
      expect(await readTail(path.join(dir, 'log'), 1000)).toBe('hello serial world');
      expect(await readTail(path.join(dir, 'missing'), 10)).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
