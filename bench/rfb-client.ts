// The measuring client of the console-overhead bench. It runs in a worker
// thread of its own, as a browser is a process of its own: in the bench's main
// thread it would share one event loop with the proxy it measures, and the
// proxy's figures would carry the client's work too.
// 1. A byte reader the links share · 2. The four links · 3. RFB messages ·
// 4. The measurement: the same messages on every link, taken in turns.
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** The four ways to the same guest's screen, in the order figures name them. */
export const LINKS = ['socket', 'tcp', 'websocket', 'proxy'] as const;
export type LinkName = (typeof LINKS)[number];

export type RfbClientInput = {
  /** QEMU's VNC unix socket: what a native VNC client on the host reads. */
  socketPath: string;
  /** QEMU's VNC server on a loopback TCP port: what a native VNC client reads over a network. */
  tcpPort: number;
  /** QEMU's own WebSocket listener: what a browser's noVNC reads with no proxy in between. */
  websocketUrl: string;
  /** Cirrus's console proxy, with a ticket. */
  proxyUrl: string;
  origin: string;
  probes: number;
  updates: number;
};
export type LinkSamples = {
  /** SetEncodings → QEMU's immediate FramebufferUpdate (the extended-key-event ack, 16 bytes), ms. */
  probeMs: number[];
  /** Whole-screen FramebufferUpdateRequest → last byte of the complete FramebufferUpdate, ms. */
  updateMs: number[];
  /** First byte of that FramebufferUpdate → its last byte, ms. */
  transferMs: number[];
  /** Bytes of each FramebufferUpdate, as parsed (header, rectangle headers, pixels). */
  updateBytes: number[];
  /** The same whole-screen updates in ZRLE (zlib-compressed, as a browser would ask): round trips, ms, and bytes. */
  zrleMs: number[];
  zrleBytes: number[];
};
export type RfbClientOutput = {
  links: Record<LinkName, LinkSamples>;
  width: number;
  height: number;
  /** The WebSocket extensions each server agreed to (the client offers permessage-deflate, as browsers do). */
  extensions: { websocket: string; proxy: string };
};

// 1. Chunks are queued as they come and copied only when a read spans two of them.
class Reader {
  private chunks: Buffer[] = [];
  private queued = 0;
  private waiter: { n: number; resolve: () => void } | null = null;

  push(b: Buffer) {
    this.chunks.push(b);
    this.queued += b.length;
    if (this.waiter && this.queued >= this.waiter.n) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve();
    }
  }

  private need(n: number): Promise<void> | null {
    if (this.queued >= n) return null;
    return new Promise((resolve) => (this.waiter = { n, resolve }));
  }

  async take(n: number): Promise<Buffer> {
    await this.need(n);
    const head = this.chunks[0]!;
    if (head.length >= n) {
      this.drop(n);
      return head.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n; ) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      this.drop(k);
      at += k;
    }
    return out;
  }

  /** Discard n bytes as they arrive (pixels: counted, not kept). */
  async skip(n: number): Promise<void> {
    while (n > 0) {
      await this.need(1);
      const k = Math.min(this.chunks[0]!.length, n);
      this.drop(k);
      n -= k;
    }
  }

  private drop(k: number) {
    const c = this.chunks[0]!;
    if (k === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(k);
    this.queued -= k;
  }
}

// 2. The same reader and the same writes on each: only the transport differs.
type Link = { reader: Reader; send: (b: Buffer) => void; close: () => void };

/** A native VNC client's link: the unix socket, or TCP with Nagle off (as VNC viewers set it). */
async function socketLink(to: string | number): Promise<Link> {
  const s = typeof to === 'string' ? net.connect(to) : net.connect(to, '127.0.0.1');
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  if (typeof to === 'number') s.setNoDelay(true);
  const reader = new Reader();
  s.on('data', (b: Buffer) => reader.push(b));
  return { reader, send: (b) => s.write(b), close: () => s.destroy() };
}

/**
 * A client that offers permessage-deflate and the `binary` subprotocol, as
 * noVNC in a browser does (QEMU's listener insists on `binary`): whether
 * compression is on is the server's answer (`extensions`).
 */
async function webSocketLink(url: string, origin: string): Promise<Link & { extensions: string }> {
  const ws = new WebSocket(url, ['binary'], { origin });
  const reader = new Reader();
  ws.on('message', (d: Buffer) => reader.push(d));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`${url} refused: ${code} ${reason.toString()}`)));
  });
  return { reader, send: (b) => ws.send(b), close: () => ws.close(), extensions: ws.extensions };
}

// 3. RFB 3.8 with no authentication, a fixed 32-bit pixel format, raw encoding (then ZRLE).
const ENC_RAW = 0;
const ENC_ZRLE = 16;
const ENC_DESKTOP_SIZE = -223;
const ENC_QEMU_EXT_KEY = -258;

async function handshake(l: Link): Promise<{ width: number; height: number }> {
  const r = l.reader;
  await r.take(12);
  l.send(Buffer.from('RFB 003.008\n'));
  const types = await r.take((await r.take(1))[0]!);
  if (!types.includes(1)) throw new Error('VNC server wants authentication');
  l.send(Buffer.from([1]));
  if ((await r.take(4)).readUInt32BE(0) !== 0) throw new Error('VNC security failed');
  l.send(Buffer.from([1])); // shared: the four links are open at once
  const init = await r.take(24);
  await r.take(init.readUInt32BE(20)); // name
  // SetPixelFormat: 32 bpp, depth 24, little-endian, true colour 8/8/8 — the byte count is then known exactly.
  const pf = Buffer.alloc(20);
  pf.writeUInt8(0, 0);
  pf.set([32, 24, 0, 1], 4);
  pf.writeUInt16BE(255, 8);
  pf.writeUInt16BE(255, 10);
  pf.writeUInt16BE(255, 12);
  pf.set([16, 8, 0], 14);
  l.send(pf);
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
}

function setEncodings(encodings: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * encodings.length);
  b.writeUInt8(2, 0);
  b.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

/**
 * A whole-screen FramebufferUpdateRequest behind a PointerEvent (no buttons,
 * at 0,0), as a console user's input comes before the screen it changes.
 * QEMU sends updates on its display refresh timer, which backs off by 50 ms a
 * tick up to 3 s while the screen is still; any input event (a key, the
 * pointer) sets it back to 30 ms from the last tick, so, 30 ms after the last
 * update, the request is answered at once rather than after a random wait for
 * a tick that would swamp what the links themselves take.
 */
function updateRequest(width: number, height: number): Buffer {
  const b = Buffer.alloc(6 + 10);
  b.writeUInt8(5, 0); // PointerEvent: button mask 0, x 0, y 0
  b.writeUInt8(3, 6);
  b.writeUInt8(0, 7); // not incremental: the whole screen every time
  b.writeUInt16BE(width, 12);
  b.writeUInt16BE(height, 14);
  return b;
}

/** More than QEMU's 30 ms base refresh interval: each request finds the timer due (see updateRequest). */
const PAUSE_MS = 40;

/** Read server messages up to and including the next FramebufferUpdate; returns its size and when its first byte came. */
async function readUpdate(r: Reader): Promise<{ bytes: number; firstAt: number }> {
  for (;;) {
    const type = (await r.take(1))[0];
    const firstAt = performance.now();
    if (type === 2) continue; // Bell
    if (type === 3) {
      await r.skip((await r.take(7)).readUInt32BE(3)); // ServerCutText
      continue;
    }
    if (type !== 0) throw new Error(`unexpected server message ${type}`);
    const n = (await r.take(3)).readUInt16BE(1);
    let bytes = 4;
    for (let i = 0; i < n; i++) {
      const rect = await r.take(12);
      const enc = rect.readInt32BE(8);
      let body = 0;
      if (enc === ENC_RAW) body = rect.readUInt16BE(4) * rect.readUInt16BE(6) * 4;
      else if (enc === ENC_ZRLE) body = (await r.take(4)).readUInt32BE(0); // a length, then that much zlib data
      else if (enc !== ENC_QEMU_EXT_KEY && enc !== ENC_DESKTOP_SIZE) throw new Error(`unexpected encoding ${enc}`);
      await r.skip(body);
      bytes += 12 + body + (enc === ENC_ZRLE ? 4 : 0);
    }
    return { bytes, firstAt };
  }
}

// 4. Warm-up first; then rounds, each taking every link in turn, so that
// whatever else the machine does lands on all alike.
async function measure(input: RfbClientInput): Promise<RfbClientOutput> {
  const socket = await socketLink(input.socketPath);
  const tcp = await socketLink(input.tcpPort);
  const websocket = await webSocketLink(input.websocketUrl, input.origin);
  const proxy = await webSocketLink(input.proxyUrl, input.origin);
  const links: Record<LinkName, Link> = { socket, tcp, websocket, proxy };
  const { width, height } = await handshake(socket);
  for (const l of [tcp, websocket, proxy]) await handshake(l);
  const samples = (): LinkSamples => ({ probeMs: [], updateMs: [], transferMs: [], updateBytes: [], zrleMs: [], zrleBytes: [] });
  const out = Object.fromEntries(LINKS.map((n) => [n, samples()])) as Record<LinkName, LinkSamples>;
  // QEMU answers a SetEncodings that names its extended key events at once (no refresh timer in between).
  const probe = setEncodings([ENC_RAW, ENC_QEMU_EXT_KEY]);
  const request = updateRequest(width, height);

  const roundTrip = async (which: LinkName, keep: boolean) => {
    const l = links[which];
    const t0 = performance.now();
    l.send(probe);
    await readUpdate(l.reader);
    if (keep) out[which].probeMs.push(performance.now() - t0);
  };
  let zrle = false;
  const fullUpdate = async (which: LinkName, keep: boolean) => {
    const l = links[which];
    const o = out[which];
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const t0 = performance.now();
    l.send(request);
    const { bytes, firstAt } = await readUpdate(l.reader);
    const t1 = performance.now();
    if (!keep) return;
    if (zrle) {
      o.zrleMs.push(t1 - t0);
      o.zrleBytes.push(bytes);
      return;
    }
    o.updateMs.push(t1 - t0);
    o.transferMs.push(t1 - firstAt);
    o.updateBytes.push(bytes);
  };
  // Each round takes the links in a new random order: no link always follows the same one (whatever the one before leaves behind).
  const shuffled = () => [...LINKS].map((n) => [Math.random(), n] as const).sort((a, b) => a[0] - b[0]).map(([, n]) => n);
  const rounds = async (n: number, sample: (w: LinkName, keep: boolean) => Promise<void>, keep: boolean) => {
    for (let i = 0; i < n; i++) for (const w of shuffled()) await sample(w, keep);
  };

  await rounds(20, roundTrip, false);
  await rounds(input.probes, roundTrip, true);
  await rounds(6, fullUpdate, false);
  await rounds(input.updates, fullUpdate, true);
  // SetEncodings without the extended key events: QEMU answers nothing, and sends ZRLE from now on.
  zrle = true;
  for (const l of Object.values(links)) l.send(setEncodings([ENC_ZRLE]));
  await rounds(6, fullUpdate, false);
  await rounds(input.updates, fullUpdate, true);
  for (const l of Object.values(links)) l.close();
  return { links: out, width, height, extensions: { websocket: websocket.extensions, proxy: proxy.extensions } };
}

if (parentPort && workerData) {
  const port = parentPort;
  measure(workerData as RfbClientInput).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
}
