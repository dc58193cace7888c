// Console overhead: an RFB round trip and bulk throughput through the console
// proxy (ticket → WebSocket → proxy → the guest's VNC socket) against a direct
// connection to the same guest's VNC socket, in one run. Both links carry the
// same RFB messages, read the same bytes (each FramebufferUpdate parsed to its
// exact length) and take turns, from a client in a thread of its own.
//
// Two kinds of round trip, because QEMU answers them differently: a whole-screen
// FramebufferUpdateRequest waits for QEMU's display refresh timer (30 ms and up,
// longer while the guest's screen is still) and is what a console user waits for —
// in raw (the most bytes, the proxy's worst case; throughput is over these) and in
// ZRLE (compressed, as a browser asks); a SetEncodings naming QEMU's extended key
// events is answered at once, so it shows the proxy's own hop with nothing around it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { localGuests } from '../server/cluster/guests';
import { ConsoleProxy } from '../server/console/proxy';
import { issueTicket } from '../server/console/tickets';
import { createDb } from '../server/db/client';
import { freePort, startEmbeddedPostgres } from '../server/db/embedded';
import { runMigrations } from '../server/db/migrate';
import { hosts, images, instances } from '../server/db/schema';
import { macAddress } from '../server/hypervisor/spec';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { eventually, guestShell, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { newInstanceId } from '../server/instances/ids';
import { makeTenant, makeUser } from '../server/test/factories';
import type { RfbClientInput, RfbClientOutput } from './rfb-client';
import { atMost, median, type BenchFigure, type BenchModule } from './types';

/** The value below which a share p (0..1) of the samples fall (nearest rank). */
function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pct = (proxy: number, direct: number) => ((proxy - direct) / direct) * 100;

/** The measuring client runs in its own thread (rfb-client.ts says why); the thread registers tsx before loading it. */
function runClient(input: RfbClientInput): Promise<RfbClientOutput> {
  const entry = JSON.stringify(new URL('./rfb-client.ts', import.meta.url).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Promise((resolve, reject) => {
    const w = new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${entry}); })`, { eval: true, workerData: input });
    w.once('message', (m: { ok: true; result: RfbClientOutput } | { ok: false; error: string }) => (m.ok ? resolve(m.result) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the RFB client exited (${code}) before answering`)));
  });
}

/** The figures of one run: the same messages and the same bytes on both links. */
function figures(r: RfbClientOutput): BenchFigure[] {
  const d = r.direct;
  const p = r.proxy;
  const probe = { d: median(d.probeMs), p: median(p.probeMs) };
  const update = { d: median(d.updateMs), p: median(p.updateMs) };
  const bytes = { d: sum(d.updateBytes), p: sum(p.updateBytes) };
  if (bytes.d !== bytes.p) throw new Error(`the two links read different bytes (${bytes.d} direct, ${bytes.p} through the proxy)`);
  const mbps = (ms: number[]) => bytes.d / 1e6 / (sum(ms) / 1000);
  const throughput = { d: mbps(d.updateMs), p: mbps(p.updateMs) };
  const transfer = { d: mbps(d.transferMs), p: mbps(p.transferMs) };
  const zrle = { d: median(d.zrleMs), p: median(p.zrleMs) };
  const zrleBytes = { d: sum(d.zrleBytes) / d.zrleBytes.length, p: sum(p.zrleBytes) / p.zrleBytes.length };
  const ms = (x: number) => Number(x.toFixed(3));
  return [
    { label: 'compression (permessage-deflate)', value: r.wsExtensions.includes('permessage-deflate') ? `on (${r.wsExtensions})` : 'off: the proxy declines it; RFB pixels are already encoded' },
    { label: 'screen, samples per link', value: `${r.width}×${r.height}, 32 bpp raw; ${d.probeMs.length} probes, ${d.updateMs.length} whole-screen updates of ${d.updateBytes[0]} bytes` },
    { label: 'RFB round trip (raw), direct (median / p95)', value: `${ms(update.d)} / ${ms(quantile(d.updateMs, 0.95))}`, unit: 'ms' },
    { label: 'RFB round trip (raw), through proxy (median / p95)', value: `${ms(update.p)} / ${ms(quantile(p.updateMs, 0.95))}`, unit: 'ms' },
    atMost('RFB round trip (raw), proxy overhead (medians)', Number(pct(update.p, update.d).toFixed(1)), 5, '%'),
    { label: 'ZRLE round trip, direct (median / p95)', value: `${ms(zrle.d)} / ${ms(quantile(d.zrleMs, 0.95))}`, unit: 'ms' },
    { label: 'ZRLE round trip, through proxy (median / p95)', value: `${ms(zrle.p)} / ${ms(quantile(p.zrleMs, 0.95))}`, unit: 'ms' },
    // ZRLE's size follows the screen, which may change between the two links' turns: the mean sizes are shown, not held equal.
    { label: 'ZRLE update size, direct / through proxy (mean)', value: `${Math.round(zrleBytes.d)} / ${Math.round(zrleBytes.p)}`, unit: 'bytes' },
    atMost('ZRLE round trip, proxy overhead (medians)', Number(pct(zrle.p, zrle.d).toFixed(1)), 5, '%'),
    { label: 'immediate reply (SetEncodings → ack), direct (median / p95)', value: `${ms(probe.d)} / ${ms(quantile(d.probeMs, 0.95))}`, unit: 'ms' },
    { label: 'immediate reply, through proxy (median / p95)', value: `${ms(probe.p)} / ${ms(quantile(p.probeMs, 0.95))}`, unit: 'ms' },
    { label: 'immediate reply, added by the proxy (medians)', value: `${ms(probe.p - probe.d)} ms (${pct(probe.p, probe.d).toFixed(0)} %)` },
    { label: 'throughput, direct (request → last byte)', value: Number(throughput.d.toFixed(1)), unit: 'MB/s' },
    { label: 'throughput, through proxy (request → last byte)', value: Number(throughput.p.toFixed(1)), unit: 'MB/s' },
    {
      label: 'throughput, proxy vs direct',
      value: Number(pct(throughput.p, throughput.d).toFixed(1)),
      unit: '%',
      target: { text: 'within ± 5 %', met: Math.abs(pct(throughput.p, throughput.d)) <= 5 },
    },
    { label: 'transfer rate, direct (first byte → last)', value: Number(transfer.d.toFixed(1)), unit: 'MB/s' },
    { label: 'transfer rate, through proxy (first byte → last)', value: Number(transfer.p.toFixed(1)), unit: 'MB/s' },
    { label: 'transfer rate, proxy vs direct', value: Number(pct(transfer.p, transfer.d).toFixed(1)), unit: '%' },
  ];
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
      // A booted guest (its shell answers): its screen mode no longer changes under the measurement.
      await eventually(() => guestShell(driver, id, 'echo up').then((o) => o === 'up').catch(() => false), 120_000, 'the guest to boot');

      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      proxy = new ConsoleProxy({ db, guests: async (h) => (h === hostId ? localGuests(driver) : null), publicOrigin: origin });
      const p = proxy;
      server = http.createServer((_q, s) => s.end()).on('upgrade', (req, socket, head) => p.handleUpgrade(req, socket, head));
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));

      const actor = { kind: 'user' as const, userId: user.id, email: user.email, isAdmin: false, requestId: 'bench' };
      const ticket = await issueTicket(db, actor, tenant.id, { instanceId: id, kind: 'vnc' });
      const result = await runClient({
        socketPath: (await driver.console(id)).vncSocket,
        url: `ws://127.0.0.1:${port}${ticket.path}`,
        origin,
        probes: Number(process.env.CIRRUS_BENCH_CONSOLE_PROBES ?? 400),
        updates: Number(process.env.CIRRUS_BENCH_CONSOLE_UPDATES ?? 80),
      });
      return figures(result);
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
