// connectConsoleSocket reads a guest's console into large slabs and hands out
// views of them: what a reader keeps must stay intact while later reads land,
// pausing must stop the reads, and a socket that is not there must be a clear error.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHypervisorError } from '../hypervisor';
import { connectConsoleSocket } from './guests';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-console-socket-'));
const socketPath = path.join(dir, 'vnc.sock');
/** 8 MiB of random bytes, several slabs' worth: a slab reused too early would show as a changed byte. */
const payload = crypto.randomBytes(8 << 20);
let server: net.Server;

beforeAll(async () => {
  // As QEMU does: write as fast as the socket takes it, once the client says something.
  server = net.createServer((c) => c.once('data', () => c.end(payload)));
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('connectConsoleSocket', () => {
  it('delivers every byte in order, each kept chunk intact after later reads, with reads larger than a stream’s 64 KiB', async () => {
    const s = await connectConsoleSocket(socketPath, 'vnc');
    const kept: Buffer[] = [];
    s.on('data', (c: Buffer) => kept.push(c));
    const ended = new Promise((r) => s.once('end', r));
    s.resume();
    s.write('go');
    await ended;
    const got = Buffer.concat(kept);
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    expect(Math.max(...kept.map((c) => c.length))).toBeGreaterThan(64 << 10);
  });

  it('comes paused, reads nothing while paused, and goes on where it stopped', async () => {
    const s = await connectConsoleSocket(socketPath, 'vnc');
    const kept: Buffer[] = [];
    s.on('data', (c: Buffer) => {
      kept.push(c);
      if (kept.length === 1) s.pause();
    });
    expect(s.isPaused()).toBe(true);
    s.write('go');
    await new Promise((r) => setTimeout(r, 100));
    expect(kept).toHaveLength(0);
    s.resume();
    await new Promise((r) => setTimeout(r, 200));
    expect(kept).toHaveLength(1);
    const ended = new Promise((r) => s.once('end', r));
    s.resume();
    await ended;
    expect(Buffer.concat(kept).equals(payload)).toBe(true);
  });

  it('refuses a socket that is not there as the driver’s BACKEND_FAILED, naming the console', async () => {
    const err = await connectConsoleSocket(path.join(dir, 'none.sock'), 'serial').catch((e: unknown) => e);
    expect(isHypervisorError(err) && err.code).toBe('BACKEND_FAILED');
    expect((err as Error).message).toMatch(/cannot reach the guest's serial socket/);
  });
});
