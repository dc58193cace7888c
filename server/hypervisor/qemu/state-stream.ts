// The server's end of a migration stream to or from a file (migration.ts says
// why it goes through a Unix socket). A sink accepts one connection from QEMU
// and writes it to a partial file; only a stream that ended cleanly is synced
// and renamed to its final name. A source connects to a QEMU waiting with
// `migrate-incoming unix:…` and sends it a saved file.
//
// A stream's end says nothing of its success (QEMU closes the socket when a
// migration fails too), so a sink's file is made final only by `commit`, which
// the driver calls once QMP has said the migration completed.
import { chownSync, closeSync, createReadStream, createWriteStream, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { openOwnFile } from './safe-files';

export interface StateSink {
  /** Once QEMU says the migration completed: wait for the stream's end, sync the file and give it its final name; the bytes. */
  commit: () => Promise<number>;
  /** Stop listening and drop a stream under way (its partial file goes). */
  close: () => void;
}

/**
 * Listen at `socket` (owned by `owner`, mode 0600: only that user's QEMU may
 * connect) for one migration stream into `final`, via `partial`.
 */
export async function listenForState(socket: string, partial: string, final: string, owner: { uid: number; gid: number } | null): Promise<StateSink> {
  rmSync(socket, { force: true });
  rmSync(partial, { force: true });
  let conn: net.Socket | null = null;
  let closed = false;
  const server = net.createServer({ pauseOnConnect: true });
  const received = new Promise<number>((resolve, reject) => {
    server.once('connection', (c) => {
      server.close(); // one stream
      conn = c;
      let bytes = 0;
      c.on('data', (b: Buffer) => (bytes += b.length));
      // 'wx': a new file, never through a link planted at that name (the guest's user may write in its directory).
      const out = createWriteStream(partial, { mode: 0o600, flags: 'wx' });
      pipeline(c, out)
        .then(() => {
          if (closed) throw new Error('the state stream was dropped');
          resolve(bytes);
        })
        .catch((e: unknown) => {
          rmSync(partial, { force: true });
          reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
    server.once('error', reject);
  });
  received.catch(() => undefined); // the caller may never wait (a migration refused at once)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  if (owner) chownSync(socket, owner.uid, owner.gid);
  return {
    commit: async () => {
      const bytes = await received;
      const fd = openSync(partial, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(partial, final);
      return bytes;
    },
    close: () => {
      closed = true;
      server.close();
      (conn as net.Socket | null)?.destroy();
      rmSync(socket, { force: true });
      rmSync(partial, { force: true });
    },
  };
}

/**
 * Send `file` to the QEMU listening at `socket` (retrying the connection for a
 * moment: QEMU opens the socket when it handles migrate-incoming).
 * `onBytes` hears the running total.
 */
export async function sendState(socket: string, file: string, onBytes?: (sent: number) => void, connectMs = 10_000): Promise<number> {
  const until = Date.now() + connectMs;
  let conn: net.Socket;
  for (;;) {
    try {
      conn = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(socket);
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      break;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let sent = 0;
  // Only the server's own state file, never through a link: the guest's user may make entries in its directory.
  let fd: number;
  try {
    fd = openOwnFile(file).fd;
  } catch (e) {
    conn.destroy();
    throw e;
  }
  const input = createReadStream('', { fd });
  input.on('data', (b) => {
    sent += b.length;
    onBytes?.(sent);
  });
  await pipeline(input, conn);
  return sent;
}
