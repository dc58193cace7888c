// cirrus_console_sessions against the real console proxy (in process, a Unix
// socket standing in for the guest's): up by one per session, down exactly
// once however it ends — the browser leaves, the guest's end goes, shutdown.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localGuests } from '../cluster/guests';
import { ConsoleProxy } from '../console/proxy';
import type { FakeHypervisor, HypervisorDriver } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { processMetrics } from './registry';

let t: TestDatabase;
let driver: FakeHypervisor;
let dir: string;
let origin: string;
let proxy: ConsoleProxy;
let server: http.Server;
let guest: net.Server;
const guestEnds: net.Socket[] = [];
let ticket: (kind: 'vnc' | 'serial') => Promise<string>;

beforeAll(async () => {
  t = await createTestDatabase();
  let hostId: string;
  ({ driver, hostId } = await setUpCompute(t.db));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-console-metrics-'));
  const socket = path.join(dir, 'guest.sock');
  guest = net.createServer((s) => guestEnds.push(s.on('error', () => undefined)));
  await new Promise<void>((resolve) => guest.listen(socket, resolve));

  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
  await drainJobs(t.db, t.url, hostId, driver);
  ticket = async (kind) => (await api.console.ticket({ tenantId: tenant.id, instanceId: inst.id, kind })).path;

  // The guest's VNC and serial ports are both the one socket here.
  const consoleOnly = { console: async () => ({ vncSocket: socket, serialSocket: socket }) } as unknown as HypervisorDriver;
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy = new ConsoleProxy({ db: t.db, guests: async (h) => (h === hostId ? localGuests(consoleOnly) : null), publicOrigin: origin, checkEveryMs: 60_000 });
  server.on('upgrade', (req, s, head) => proxy.handleUpgrade(req, s, head));
});
afterAll(async () => {
  proxy.closeAll();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => guest.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  await t.close();
});

async function open(kind: 'vnc' | 'serial') {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}${await ticket(kind)}`, { origin });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code, reason) => reject(new Error(`refused: ${code} ${reason.toString()}`)));
  });
  return { ws, closed };
}

async function sessions() {
  const { values } = await processMetrics().consoleSessions.get();
  return Object.fromEntries(values.map((v) => [v.labels.kind, v.value]));
}

async function eventually(expected: Record<string, number>) {
  const until = Date.now() + 3000;
  const matches = (now: Record<string, number>) => Object.entries(expected).every(([kind, n]) => now[kind] === n);
  while (Date.now() < until && !matches(await sessions())) await new Promise((r) => setTimeout(r, 10));
  expect(await sessions()).toEqual(expected);
  // …and stays there: a second close of the same session (its WebSocket's own close event, later) must not count again.
  await new Promise((r) => setTimeout(r, 150));
  expect(await sessions()).toEqual(expected);
}

describe('cirrus_console_sessions', () => {
  it('goes up with a session and down once when the browser closes it', async () => {
    expect(await sessions()).toEqual({ vnc: 0, serial: 0 });
    const { ws, closed } = await open('vnc');
    await eventually({ vnc: 1, serial: 0 });
    ws.close();
    await closed;
    await eventually({ vnc: 0, serial: 0 });
  });

  it('goes down once when the guest’s end goes, though the WebSocket then closes too', async () => {
    const { closed } = await open('serial');
    await eventually({ vnc: 0, serial: 1 });
    guestEnds.pop()!.destroy();
    expect(await closed).toBe(4410);
    await eventually({ vnc: 0, serial: 0 });
  });

  it('does not count a refused session', async () => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}/api/console/ws?ticket=not-a-ticket`, { origin });
    await new Promise((resolve) => ws.on('close', resolve));
    expect(await sessions()).toEqual({ vnc: 0, serial: 0 });
  });

  it('comes back to zero when the server closes every session at shutdown', async () => {
    const a = await open('vnc');
    const b = await open('serial');
    const c = await open('vnc');
    await eventually({ vnc: 2, serial: 1 });
    proxy.closeAll();
    expect(await Promise.all([a.closed, b.closed, c.closed])).toEqual([1001, 1001, 1001]);
    await eventually({ vnc: 0, serial: 0 });
  });
});
