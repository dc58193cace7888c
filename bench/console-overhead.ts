// Console overhead: RFB round-trip latency and bulk throughput through the
// console proxy (ticket → WebSocket → proxy → the guest's VNC socket) against
// a direct connection to the same guest's VNC socket, in one run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ConsoleProxy } from '../server/console/proxy';
import { issueTicket } from '../server/console/tickets';
import { createDb } from '../server/db/client';
import { freePort, startEmbeddedPostgres } from '../server/db/embedded';
import { runMigrations } from '../server/db/migrate';
import { hosts, images, instances } from '../server/db/schema';
import { macAddress } from '../server/hypervisor/spec';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { testImagesDir } from '../server/hypervisor/qemu/test-support';
import { newInstanceId } from '../server/instances/ids';
import { makeTenant, makeUser } from '../server/test/factories';
import { median, type BenchModule } from './types';

/** A byte pipe either way: a raw unix socket, or the proxy's WebSocket. */
type Link = { send: (b: Buffer) => void; read: (n: number) => Promise<Buffer>; close: () => void };

function linkFrom(onData: (cb: (b: Buffer) => void) => void, send: (b: Buffer) => void, close: () => void): Link {
  let buf = Buffer.alloc(0);
  let waiter: { n: number; resolve: (b: Buffer) => void } | null = null;
  const flush = () => {
    if (waiter && buf.length >= waiter.n) {
      const out = buf.subarray(0, waiter.n);
      buf = buf.subarray(waiter.n);
      const w = waiter;
      waiter = null;
      w.resolve(out);
    }
  };
  onData((b) => {
    buf = Buffer.concat([buf, b]);
    flush();
  });
  return {
    send,
    close,
    read: (n) =>
      new Promise((resolve) => {
        waiter = { n, resolve };
        flush();
      }),
  };
}

async function direct(socketPath: string): Promise<Link> {
  const s = net.connect(socketPath);
  await new Promise((r) => s.once('connect', r));
  return linkFrom((cb) => s.on('data', cb), (b) => s.write(b), () => s.destroy());
}

async function proxied(url: string, origin: string): Promise<Link> {
  const ws = new WebSocket(url, { origin });
  const link = linkFrom((cb) => ws.on('message', (d: Buffer) => cb(d)), (b) => ws.send(b), () => ws.close());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code, reason) => reject(new Error(`proxy refused: ${code} ${reason}`)));
  });
  return link;
}

/** RFB 3.8 handshake with no authentication; returns the framebuffer size. */
async function handshake(l: Link): Promise<{ width: number; height: number }> {
  await l.read(12);
  l.send(Buffer.from('RFB 003.008\n'));
  const n = (await l.read(1))[0]!;
  const types = await l.read(n);
  if (!types.includes(1)) throw new Error('VNC server wants authentication');
  l.send(Buffer.from([1]));
  if ((await l.read(4)).readUInt32BE(0) !== 0) throw new Error('VNC security failed');
  l.send(Buffer.from([1])); // shared
  const init = await l.read(24);
  await l.read(init.readUInt32BE(20)); // name
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
}

/** Ask for a (non-incremental) rectangle and read the whole raw update; returns bytes received. */
async function update(l: Link, w: number, h: number): Promise<number> {
  const req = Buffer.alloc(10);
  req.writeUInt8(3, 0);
  req.writeUInt8(0, 1);
  req.writeUInt16BE(w, 6);
  req.writeUInt16BE(h, 8);
  l.send(req);
  const head = await l.read(4);
  if (head[0] !== 0) throw new Error(`unexpected server message ${head[0]}`);
  let bytes = 4;
  for (let r = head.readUInt16BE(2); r > 0; r--) {
    const rect = await l.read(12);
    if (rect.readInt32BE(8) !== 0) throw new Error('expected raw encoding');
    const size = rect.readUInt16BE(4) * rect.readUInt16BE(6) * 4; // default pixel format: 32 bpp
    await l.read(size);
    bytes += 12 + size;
  }
  return bytes;
}

async function measure(l: Link) {
  const { width, height } = await handshake(l);
  const rtt: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await update(l, 1, 1);
    rtt.push(performance.now() - t0);
  }
  let bytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) bytes += await update(l, width, height);
  const seconds = (performance.now() - t0) / 1000;
  l.close();
  return { rttMs: median(rtt), mibPerS: bytes / 1048576 / seconds };
}

const bench: BenchModule = {
  name: 'console-overhead',
  description: 'RFB round trip and bulk throughput: through the console proxy vs straight to the guest’s VNC socket',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-console-'));
    fs.chmodSync(dir, 0o711);
    const pg = await startEmbeddedPostgres(dir, { log: () => undefined, quiet: true });
    const { db, pool } = createDb(pg.url, 5);
    const driver = await QemuDriver.open({ guestsDir: path.join(dir, 'guests'), imagesDir: testImagesDir() });
    const id = newInstanceId();
    let server: http.Server | null = null;
    let proxy: ConsoleProxy | null = null;
    try {
      await runMigrations(pg.url);
      const hostId = crypto.randomUUID();
      const info = await driver.hostInfo();
      await db.insert(hosts).values({ id: hostId, name: 'bench', driver: 'qemu', cpus: info.cpus, memoryMiB: info.memoryMiB, diskGiB: info.freeDiskGiB, acceleration: info.acceleration });
      await db.insert(images).values({ id: 'cirrus-tiny-linux', name: 'Cirrus Tiny Linux', minMemoryMiB: 96, minDiskGiB: 1 });
      const user = await makeUser(db);
      const tenant = await makeTenant(db, user);
      await driver.create({ id, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: 'cirrus-tiny-linux' });
      await driver.start(id);
      await db.insert(instances).values({ id, tenantId: tenant.id, name: 'bench', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, hostId, state: 'running' });
      await new Promise((r) => setTimeout(r, 3000)); // let the guest draw its console

      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      proxy = new ConsoleProxy({ db, compute: () => ({ driver, hostId }), publicOrigin: origin });
      const p = proxy;
      server = http.createServer((_q, s) => s.end()).on('upgrade', (req, socket, head) => p.handleUpgrade(req, socket, head));
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));

      const actor = { kind: 'user' as const, userId: user.id, email: user.email, isAdmin: false, requestId: 'bench' };
      const directFigures = await measure(await direct((await driver.console(id)).vncSocket));
      const ticket = await issueTicket(db, actor, tenant.id, { instanceId: id, kind: 'vnc' });
      const proxyFigures = await measure(await proxied(`ws://127.0.0.1:${port}${ticket.path}`, origin));
      return [
        { label: 'round trip, direct (median)', value: directFigures.rttMs, unit: 'ms' },
        { label: 'round trip, through proxy (median)', value: proxyFigures.rttMs, unit: 'ms' },
        { label: 'round trip ratio (proxy / direct)', value: proxyFigures.rttMs / directFigures.rttMs },
        { label: 'throughput, direct', value: directFigures.mibPerS, unit: 'MiB/s' },
        { label: 'throughput, through proxy', value: proxyFigures.mibPerS, unit: 'MiB/s' },
        { label: 'throughput ratio (proxy / direct)', value: proxyFigures.mibPerS / directFigures.mibPerS },
      ];
    } finally {
      proxy?.closeAll();
      server?.close();
      await driver.destroy(id).catch(() => undefined);
      await driver.close();
      await pool.end();
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
