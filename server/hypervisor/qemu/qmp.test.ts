// The QMP wire and monitor against a scripted fake QEMU on a Unix socket.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { qmp } from './qmp-commands';
import { QmpMonitor } from './qmp-monitor';
import { QmpError, QmpWire, type QmpEventMessage } from './qmp-wire';

type Handler = (msg: { execute: string; arguments?: Record<string, unknown>; id?: string }, reply: (o: object) => void) => void;

let dir: string;
let socketPath: string;
let server: net.Server;
let clients: net.Socket[];
let connections: number;
let handler: Handler;

function startFakeQemu(): Promise<void> {
  clients = [];
  connections = 0;
  server = net.createServer((sock) => {
    connections++;
    clients.push(sock);
    const reply = (o: object) => sock.write(JSON.stringify(o) + '\r\n');
    reply({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } });
    let buf = '';
    sock.on('data', (b) => {
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Parameters<Handler>[0];
        buf = buf.slice(nl + 1);
        if (msg.execute === 'qmp_capabilities') reply({ return: {}, id: msg.id });
        else handler(msg, reply);
      }
    });
    sock.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(socketPath, resolve));
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-qmp-'));
  socketPath = path.join(dir, 'qmp.sock');
  handler = (msg, reply) => reply({ return: {}, id: msg.id });
  await startFakeQemu();
});

afterEach(async () => {
  for (const c of clients) c.destroy();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('QmpWire', () => {
  it('negotiates capabilities, matches replies to commands by id, even out of order', async () => {
    const held: (() => void)[] = [];
    handler = (msg, reply) => {
      if (msg.execute === 'query-status') held.push(() => reply({ return: { running: true, status: 'running' }, id: msg.id }));
      else reply({ return: { 'base-memory': 402653184 }, id: msg.id });
    };
    const wire = await QmpWire.connect(socketPath);
    const status = qmp.status(wire);
    const mem = await qmp.memorySummary(wire); // answered before the earlier command
    held.forEach((f) => f());
    expect(mem['base-memory']).toBe(402653184);
    expect(await status).toEqual({ running: true, status: 'running' });
    wire.close();
  });

  it('turns QMP errors into QmpError with their class', async () => {
    handler = (msg, reply) => reply({ error: { class: 'DeviceNotFound', desc: 'no such device' }, id: msg.id });
    const wire = await QmpWire.connect(socketPath);
    const err = await wire.execute('screendump', { filename: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({ errorClass: 'DeviceNotFound', message: 'no such device' });
    wire.close();
  });

  it('times a command out without breaking the connection', async () => {
    handler = (msg, reply) => {
      if (msg.execute !== 'stop') reply({ return: {}, id: msg.id });
    };
    const wire = await QmpWire.connect(socketPath);
    await expect(wire.execute('stop', undefined, { timeoutMs: 100 })).rejects.toThrow(/timed out/);
    await expect(wire.execute('cont')).resolves.toEqual({});
    wire.close();
  });

  it('delivers events and fails pending commands when the connection drops', async () => {
    handler = () => undefined;
    const wire = await QmpWire.connect(socketPath);
    const events: QmpEventMessage[] = [];
    wire.onEvent((e) => events.push(e));
    const pending = wire.execute('system_powerdown');
    clients[0]?.write(JSON.stringify({ event: 'POWERDOWN', timestamp: { seconds: 1, microseconds: 0 } }) + '\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(events.map((e) => e.event)).toEqual(['POWERDOWN']);
    clients[0]?.destroy();
    await expect(pending).rejects.toThrow(/closed/);
    expect(wire.isOpen).toBe(false);
  });
});

describe('QmpMonitor', () => {
  it('reconnects when the connection drops while QEMU lives', async () => {
    let gone = 0;
    const m = new QmpMonitor({ socketPath, isAlive: () => true, onEvent: () => undefined, onGone: () => gone++ });
    await m.connect();
    clients[0]?.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(connections).toBe(2);
    await expect(m.execute('cont')).resolves.toEqual({});
    expect(gone).toBe(0);
    m.close();
  });

  it('reports the guest gone, once, when the connection drops and QEMU is dead', async () => {
    let gone = 0;
    let alive = true;
    const m = new QmpMonitor({ socketPath, isAlive: () => alive, onEvent: () => undefined, onGone: () => gone++ });
    await m.connect();
    alive = false;
    clients[0]?.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(gone).toBe(1);
    expect(connections).toBe(1);
    m.close();
  });
});
