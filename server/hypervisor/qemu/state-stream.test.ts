import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenForState, sendState } from './state-stream';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-stream-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What QEMU does on a save: connect, write the stream, close. */
function qemuSends(socket: string, chunks: Buffer[], opts: { abort?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket, () => {
      for (const b of chunks) c.write(b);
      if (opts.abort) c.destroy();
      else c.end();
    });
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

describe('state streams', () => {
  it('a save becomes the final file only when committed: synced, renamed, every byte', async () => {
    const sock = path.join(dir, 'migrate.sock');
    const final = path.join(dir, 'saved.state');
    const sink = await listenForState(sock, `${final}.partial`, final, null);
    expect((statSync(sock).mode & 0o777).toString(8)).toBeDefined();
    const chunks = [Buffer.alloc(300_000, 1), Buffer.alloc(5, 2)];
    await qemuSends(sock, chunks);
    expect(existsSync(final)).toBe(false); // an ended stream is not yet a completed migration
    expect(await sink.commit()).toBe(300_005);
    sink.close();
    expect(readFileSync(final)).toEqual(Buffer.concat(chunks));
    expect(existsSync(`${final}.partial`)).toBe(false);
    expect(existsSync(sock)).toBe(false);
  });

  it('a stream dropped (QEMU failed, or the save was abandoned) leaves no state file', async () => {
    const sock = path.join(dir, 'migrate.sock');
    const final = path.join(dir, 'saved.state');
    const sink = await listenForState(sock, `${final}.partial`, final, null);
    const sending = qemuSends(sock, [Buffer.alloc(100_000, 3)]).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    sink.close();
    await sending;
    await expect(sink.commit()).rejects.toThrow();
    expect(existsSync(final)).toBe(false);
    expect(existsSync(`${final}.partial`)).toBe(false);
  });

  it('a restore sends the file to the socket QEMU listens on, and says how far it got', async () => {
    const sock = path.join(dir, 'incoming.sock');
    const file = path.join(dir, 'saved.state');
    const body = Buffer.alloc(1_000_000, 7);
    writeFileSync(file, body);
    const got: Buffer[] = [];
    const received = new Promise<void>((resolve) => {
      // QEMU opens its socket a moment after migrate-incoming: the sender waits for it.
      setTimeout(() => net.createServer((c) => c.on('data', (b) => got.push(b)).on('end', resolve)).listen(sock), 100);
    });
    const seen: number[] = [];
    expect(await sendState(sock, file, (n) => seen.push(n))).toBe(body.length);
    await received;
    expect(Buffer.concat(got)).toEqual(body);
    expect(seen.at(-1)).toBe(body.length);
  });
});
