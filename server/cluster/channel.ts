// The node channel: how a control plane reaches a compute node's guests
// without a VNC socket, QMP or any port of QEMU's ever leaving the node.
// 1. The cluster key · 2. TLS with it (both ends prove they hold it) ·
// 3. The wire: one JSON line asked, one JSON line answered, then (for a
// stream) raw bytes both ways · 4. The node's server · 5. The client.
//
// Why TLS-PSK and not mTLS: the cluster is one trust domain (anyone who can
// write its database can already run jobs on every node), so one shared key is
// the honest unit of trust, and a key is one file to copy, not a CA to run.
// OpenSSL does the cryptography: ECDHE for forward secrecy, the key for
// authentication both ways, ChaCha20-Poly1305 for the bytes. External PSKs
// need TLS 1.2 in Node; the suites below are the AEAD ones.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { GUEST_ID_PATTERN } from '../hypervisor/spec';
import { readOrCreateSecret } from '../runtime/secrets';

// ---------------------------------------------------------------- 1. the key

/** A cluster key: 32 random bytes, base64url, one line. */
export const newClusterKey = () => crypto.randomBytes(32).toString('base64url');

/**
 * The key every server of the cluster holds: CIRRUS_CLUSTER_KEY_FILE (the
 * operator copies one file to every node), else `<data>/secrets/cluster-key`,
 * made on first use (a single machine, or the first server of a cluster).
 */
export function clusterKey(dataDir: string, file = process.env.CIRRUS_CLUSTER_KEY_FILE): Buffer {
  const text = file ? readKeyFile(path.resolve(file)) : readOrCreateSecret(dataDir, 'cluster-key', newClusterKey);
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length < 32) throw new Error(`the cluster key${file ? ` in ${file}` : ''} must hold at least 32 bytes (base64url), not ${key.length}`);
  return key;
}

function readKeyFile(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new Error(`CIRRUS_CLUSTER_KEY_FILE names ${file}, which cannot be read`);
  }
  if (!st.isFile()) throw new Error(`CIRRUS_CLUSTER_KEY_FILE names ${file}, which is not a file`);
  if (st.mode & 0o077) throw new Error(`the cluster key ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  return fs.readFileSync(file, 'utf8');
}

// ---------------------------------------------------------------- 2. TLS

const IDENTITY = 'cirrus-cluster';
const tlsOptions = {
  ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
} as const;

// ---------------------------------------------------------------- 3. the wire

/** What a control plane may ask a node: each op's arguments are checked again on the node. */
export type NodeRequest =
  | { op: 'ping' }
  | { op: 'serial-log'; instanceId: string; bytes: number }
  | { op: 'guest-info'; instanceId: string }
  | { op: 'screenshot'; instanceId: string }
  | { op: 'console'; instanceId: string; kind: 'vnc' | 'serial' }
  // Live migration, asked of the target by the source's node (server/cluster/migrate.ts).
  | { op: 'migrate-prepare'; instanceId: string; guest: unknown }
  | { op: 'migrate-finish'; instanceId: string }
  | { op: 'migrate-abort'; instanceId: string }
  | { op: 'migrate-status'; instanceId: string }
  | { op: 'migrate-stream'; instanceId: string; kind: 'disk' | 'state' }
  // A stopped instance's move: its disk sent whole; the node answers a second line once it has made the guest of it.
  | { op: 'move-in'; instanceId: string; guest: unknown; bytes: number };

/** The requests answered with a stream (raw bytes after the answer line). */
export type NodeStreamRequest = Extract<NodeRequest, { op: 'console' | 'migrate-stream' | 'move-in' }>;
export type NodeCallRequest = Exclude<NodeRequest, NodeStreamRequest>;

export type NodeAnswer = { ok: true; result?: unknown } | { ok: false; code: string; message: string };

/** A request line is small; an answer may carry a screenshot (base64). */
const MAX_REQUEST_BYTES = 16 * 1024;
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** An error the node answered with: its code (NOT_FOUND, INVALID, …) and sentence. */
export class NodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Read one `\n`-ended line; what came after it is pushed back for whoever reads next. */
function readLine(socket: net.Socket, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null, line?: string) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      if (nl === -1) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > max) done(new Error(`a line longer than ${max} bytes`));
        return;
      }
      chunks.push(chunk.subarray(0, nl));
      socket.pause();
      const rest = chunk.subarray(nl + 1);
      if (rest.length) socket.unshift(rest);
      done(null, Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('the connection closed'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.resume();
  });
}

// ---------------------------------------------------------------- 4. the node's server

export type NodeHandlers = {
  /** Answer a request (its result goes back as JSON). Throw a NodeError to answer with a code. */
  call: (req: NodeCallRequest) => Promise<unknown>;
  /** Open the stream a request names (a guest's console socket, a migration's incoming socket, a copied disk's sink), connected. */
  open: (req: NodeStreamRequest) => Promise<Duplex>;
  /** A request that could not be served, for the node's log. */
  log?: (message: string) => void;
};


/** The request as the wire carried it, checked field by field; null when it is not one. */
export function parseNodeRequest(line: string): NodeRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  // A guest id as the drivers take it (an instance id is one): never a path, never an option.
  const id = typeof r.instanceId === 'string' && GUEST_ID_PATTERN.test(r.instanceId) ? r.instanceId : null;
  switch (r.op) {
    case 'ping':
      return { op: 'ping' };
    case 'serial-log':
      return id && Number.isInteger(r.bytes) && (r.bytes as number) > 0 && (r.bytes as number) <= 1 << 20 ? { op: 'serial-log', instanceId: id, bytes: r.bytes as number } : null;
    case 'guest-info':
    case 'screenshot':
      return id ? { op: r.op, instanceId: id } : null;
    case 'console':
      return id && (r.kind === 'vnc' || r.kind === 'serial') ? { op: 'console', instanceId: id, kind: r.kind } : null;
    case 'migrate-prepare':
      // The guest's spec is checked whole by the driver (validateGuestSpec, validateShape) before anything is made.
      return id && typeof r.guest === 'object' && r.guest !== null ? { op: 'migrate-prepare', instanceId: id, guest: r.guest } : null;
    case 'migrate-finish':
    case 'migrate-abort':
    case 'migrate-status':
      return id ? { op: r.op, instanceId: id } : null;
    case 'move-in':
      return id && typeof r.guest === 'object' && r.guest !== null && Number.isSafeInteger(r.bytes) && (r.bytes as number) > 0
        ? { op: 'move-in', instanceId: id, guest: r.guest, bytes: r.bytes as number }
        : null;
    case 'migrate-stream':
      return id && (r.kind === 'disk' || r.kind === 'state') ? { op: 'migrate-stream', instanceId: id, kind: r.kind } : null;
    default:
      return null;
  }
}

export class NodeChannelServer {
  private readonly server: tls.Server;
  private readonly open = new Set<net.Socket>();

  constructor(key: Buffer, handlers: NodeHandlers) {
    this.server = tls.createServer(
      {
        ...tlsOptions,
        pskCallback: (_socket, identity) => (identity === IDENTITY ? key : null),
        pskIdentityHint: IDENTITY,
        // A client that connects and says nothing is dropped.
        handshakeTimeout: 10_000,
      },
      (socket) => void this.serve(socket, handlers),
    );
    // A failed handshake (a wrong key, not TLS at all) is the client's problem; it is not logged as ours.
    this.server.on('tlsClientError', () => undefined);
  }

  private async serve(socket: tls.TLSSocket, h: NodeHandlers) {
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(30_000, () => socket.destroy());
    const answer = (a: NodeAnswer) => socket.write(`${JSON.stringify(a)}\n`);
    let req: NodeRequest | null;
    try {
      req = parseNodeRequest(await readLine(socket, MAX_REQUEST_BYTES));
    } catch {
      socket.destroy();
      return;
    }
    if (!req) {
      answer({ ok: false, code: 'INVALID', message: 'not a request this node serves' });
      socket.end();
      return;
    }
    try {
      if (req.op !== 'console' && req.op !== 'migrate-stream' && req.op !== 'move-in') {
        answer({ ok: true, result: await h.call(req) });
        socket.end();
        return;
      }
      const stream = await h.open(req);
      socket.setTimeout(0);
      answer({ ok: true });
      // Raw bytes both ways from here; either end closing closes both.
      socket.pipe(stream);
      stream.pipe(socket);
      stream.on('error', () => socket.destroy());
      stream.on('close', () => socket.destroy());
      socket.on('close', () => stream.destroy());
      socket.resume();
    } catch (err) {
      const e = err instanceof NodeError ? err : new NodeError('INTERNAL', err instanceof Error ? err.message : String(err));
      if (e.code === 'INTERNAL') h.log?.(`[node] ${req.op} failed: ${e.message}`);
      answer({ ok: false, code: e.code, message: e.message });
      socket.end();
    }
  }

  /** Listen on `host:port` (port 0: one the kernel picks); resolves with the address it listens on. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.open) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- 5. the client

/** `host:port` as a node's address is written (hosts.node_address): an IPv4 address or name, and a port. */
export function parseNodeAddress(address: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`a node address is host:port, not ${JSON.stringify(address)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

async function connect(address: string, key: Buffer, timeoutMs: number): Promise<tls.TLSSocket> {
  const { host, port } = parseNodeAddress(address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...tlsOptions,
      host,
      port,
      pskCallback: () => ({ identity: IDENTITY, psk: key }),
      // The key is the identity: there is no certificate to check a name against.
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from the node at ${address} within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the node at ${address} could not be reached: ${err.message}`));
    });
  });
}

async function ask(address: string, key: Buffer, req: NodeRequest, timeoutMs: number): Promise<{ socket: tls.TLSSocket; answer: NodeAnswer }> {
  const socket = await connect(address, key, timeoutMs);
  try {
    socket.write(`${JSON.stringify(req)}\n`);
    const timer = setTimeout(() => socket.destroy(new Error(`the node at ${address} did not answer ${req.op} within ${timeoutMs / 1000} s`)), timeoutMs);
    const line = await readLine(socket, MAX_ANSWER_BYTES).finally(() => clearTimeout(timer));
    return { socket, answer: JSON.parse(line) as NodeAnswer };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Ask a node and wait for its answer's result; a refusal is thrown as a NodeError. */
export async function callNode(address: string, key: Buffer, req: NodeCallRequest, timeoutMs = 15_000): Promise<unknown> {
  const { socket, answer } = await ask(address, key, req, timeoutMs);
  socket.destroy();
  if (!answer.ok) throw new NodeError(answer.code, answer.message);
  return answer.result;
}

/**
 * Send `file` to a node that takes it whole (move-in), then wait for the
 * node's verdict on what it made of it; `onBytes` hears the running total.
 */
export async function sendFileToNode(address: string, key: Buffer, req: Omit<Extract<NodeRequest, { op: 'move-in' }>, 'bytes'>, file: string, onBytes?: (sent: number) => void): Promise<void> {
  // The node takes exactly this many bytes, then answers on the same connection (no half-close: TLS sockets close both ways).
  const socket = await openNodeStream(address, key, { ...req, bytes: fs.statSync(file).size });
  try {
    const verdict = readLine(socket, 64 * 1024);
    let sent = 0;
    const input = fs.createReadStream(file);
    input.on('data', (b) => {
      sent += b.length;
      onBytes?.(sent);
    });
    await pipeline(input, socket, { end: false });
    const answer = JSON.parse(await verdict) as NodeAnswer;
    if (!answer.ok) throw new NodeError(answer.code, answer.message);
  } finally {
    socket.destroy();
  }
}

/** Open a stream on a node (a guest's console): the socket carries the guest's bytes once this resolves. */
export async function openNodeStream(address: string, key: Buffer, req: NodeStreamRequest, timeoutMs = 15_000): Promise<net.Socket> {
  const { socket, answer } = await ask(address, key, req, timeoutMs);
  if (!answer.ok) {
    socket.destroy();
    throw new NodeError(answer.code, answer.message);
  }
  return socket;
}
