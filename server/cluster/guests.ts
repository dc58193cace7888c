// A guest's live side — its console, serial log, screen and agent — wherever
// it runs. On the server of its host that is the driver; from any other
// server (a control plane, another node) it is the host's node channel.
// 1. On the host · 2. The node's service over the channel · 3. From elsewhere
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { hosts } from '../db/schema';
import { HypervisorError, isHypervisorError, type GuestInfo, type HypervisorDriver, type HypervisorErrorCode } from '../hypervisor';
import { callNode, NodeChannelServer, NodeError, openNodeStream, type NodeHandlers } from './channel';

export type ConsoleKind = 'vnc' | 'serial';

/** What a server can do with a guest's live side, the same whether the guest is here or on another node. */
export type GuestAccess = {
  serialLog(instanceId: string, bytes: number): Promise<string>;
  /** Null when the guest has no agent or it does not answer. */
  guestInfo(instanceId: string): Promise<GuestInfo | null>;
  screenshot(instanceId: string): Promise<Buffer>;
  /** A connected stream to the guest's console, paused: attach listeners, then resume it. */
  openConsole(instanceId: string, kind: ConsoleKind): Promise<net.Socket>;
};

// ---------------------------------------------------------------- 1. on the host

export function localGuests(driver: HypervisorDriver): GuestAccess {
  return {
    serialLog: (id, bytes) => driver.serialLog(id, bytes),
    guestInfo: async (id) => (driver.guestInfo ? driver.guestInfo(id) : null),
    screenshot: (id) => driver.screenshot(id),
    openConsole: async (id, kind) => {
      const endpoint = await driver.console(id);
      return connectConsoleSocket(kind === 'vnc' ? endpoint.vncSocket : endpoint.serialSocket, kind);
    },
  };
}

/** A read lands in a slab at least this big; a slab with less left is retired. */
const READ_SLAB = 1 << 20;
const READ_MIN = 256 << 10;

/**
 * A guest's console socket (QEMU's VNC or serial unix socket), connected and
 * paused: nothing is read before its reader is there. Its 'data' chunks are
 * views into 1 MiB slabs, each read taking what the kernel holds (QEMU fills
 * its socket buffer, about 200 KiB) rather than the 64 KiB a stream reads by
 * default: a whole screen crosses the proxy in a few large WebSocket frames,
 * with no copy on the way (a slab's bytes are never reused, so a chunk still
 * queued for the browser stays intact).
 */
export async function connectConsoleSocket(socketPath: string, kind: ConsoleKind): Promise<net.Socket> {
  let slab = Buffer.allocUnsafe(READ_SLAB);
  let at = 0;
  const socket: net.Socket = net.connect({
    path: socketPath,
    onread: {
      buffer: () => {
        if (slab.length - at < READ_MIN) {
          slab = Buffer.allocUnsafe(READ_SLAB);
          at = 0;
        }
        return slab.subarray(at);
      },
      callback: (n: number, buf: Uint8Array) => {
        at += n;
        socket.emit('data', Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  }).catch((err: Error) => {
    throw new HypervisorError('BACKEND_FAILED', `cannot reach the guest's ${kind} socket: ${err.message}`);
  });
  socket.pause();
  return socket;
}

// ---------------------------------------------------------------- 2. the node's service

/** A driver's refusal goes over the wire with its code, and comes back as the same HypervisorError. */
const toNodeError = (err: unknown): unknown => (isHypervisorError(err) ? new NodeError(err.code, err.message) : err);
const HYPERVISOR_CODES = new Set<string>(['INVALID_SPEC', 'NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_STATE', 'BACKEND_FAILED']);
const fromNodeError = (err: unknown): unknown =>
  err instanceof NodeError && HYPERVISOR_CODES.has(err.code) ? new HypervisorError(err.code as HypervisorErrorCode, err.message) : err;

/** The target's side of a live migration, as its node serves it (migrate.ts). */
export type MigrationTargetService = {
  prepare: (instanceId: string, guest: unknown) => Promise<void>;
  finish: (instanceId: string) => Promise<void>;
  abort: (instanceId: string) => Promise<void>;
  status: (instanceId: string) => Promise<string>;
  open: (instanceId: string, kind: 'disk' | 'state') => Promise<net.Socket>;
  /** A stopped instance's disk, sent whole: the stream it goes into, which answers one line once the guest is made of it. */
  receive: (instanceId: string, guest: unknown, bytes: number) => Promise<Duplex>;
};

/** What a node serves on its channel: its own guests' live side, and its side of moves to it. */
export function nodeHandlers(hostId: string, guests: GuestAccess, log: (m: string) => void, migration?: MigrationTargetService): NodeHandlers {
  const moves = () => {
    if (!migration) throw new NodeError('INVALID', 'this node takes no live migrations');
    return migration;
  };
  return {
    log,
    call: async (req) => {
      try {
        switch (req.op) {
          case 'ping':
            return { hostId };
          case 'serial-log':
            return await guests.serialLog(req.instanceId, req.bytes);
          case 'guest-info':
            return await guests.guestInfo(req.instanceId);
          case 'screenshot':
            return (await guests.screenshot(req.instanceId)).toString('base64');
          case 'migrate-prepare':
            return await moves().prepare(req.instanceId, req.guest);
          case 'migrate-finish':
            return await moves().finish(req.instanceId);
          case 'migrate-abort':
            return await moves().abort(req.instanceId);
          case 'migrate-status':
            return await moves().status(req.instanceId);
        }
      } catch (err) {
        throw toNodeError(err);
      }
    },
    open: async (req) => {
      try {
        if (req.op === 'console') return await guests.openConsole(req.instanceId, req.kind);
        if (req.op === 'move-in') return await moves().receive(req.instanceId, req.guest, req.bytes);
        return await moves().open(req.instanceId, req.kind);
      } catch (err) {
        throw toNodeError(err);
      }
    },
  };
}

export { NodeChannelServer };

// ---------------------------------------------------------------- 3. from elsewhere

export function remoteGuests(address: string, key: Buffer): GuestAccess {
  const call = async <T>(p: Promise<unknown>): Promise<T> => {
    try {
      return (await p) as T;
    } catch (err) {
      throw fromNodeError(err);
    }
  };
  return {
    serialLog: (instanceId, bytes) => call<string>(callNode(address, key, { op: 'serial-log', instanceId, bytes })),
    guestInfo: (instanceId) => call<GuestInfo | null>(callNode(address, key, { op: 'guest-info', instanceId })),
    screenshot: async (instanceId) => Buffer.from(await call<string>(callNode(address, key, { op: 'screenshot', instanceId })), 'base64'),
    openConsole: (instanceId, kind) => call<net.Socket>(openNodeStream(address, key, { op: 'console', instanceId, kind })),
  };
}

/** This server's place in the cluster: its own host's guests (if it is a node) and the key to reach the others'. */
export type ClusterContext = { hostId: string | null; local: GuestAccess | null; key: Buffer };

const KEY = Symbol.for('cirrus.cluster');
const g = globalThis as unknown as Record<symbol, ClusterContext | undefined>;

/** Set once at start (server.ts); route handlers bundled by Next reach it through globalThis. */
export function setClusterContext(ctx: ClusterContext | undefined): void {
  g[KEY] = ctx;
}

/**
 * The live side of the guests of `hostId`: here when it is this server's
 * host, else through that node's channel. Null when no server here can reach
 * it: no cluster context (a test, a script), or a host that never served a channel.
 */
export async function guestsOn(db: DbOrTx, hostId: string): Promise<GuestAccess | null> {
  const ctx = g[KEY];
  if (!ctx) return null;
  if (ctx.hostId === hostId && ctx.local) return ctx.local;
  const [row] = await db.select({ address: hosts.nodeAddress }).from(hosts).where(eq(hosts.id, hostId));
  return row?.address ? remoteGuests(row.address, ctx.key) : null;
}
