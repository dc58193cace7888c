import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { callNode, clusterKey, NodeChannelServer, NodeError, openNodeStream, parseNodeAddress, parseNodeRequest, type NodeHandlers } from './channel';

const ID = 'i-0123456789abcdef0';
const servers: NodeChannelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function node(key: Buffer, handlers: Partial<NodeHandlers>) {
  const s = new NodeChannelServer(key, {
    call: async () => {
      throw new NodeError('INVALID', 'no calls here');
    },
    open: async () => {
      throw new NodeError('INVALID', 'no streams here');
    },
    ...handlers,
  });
  servers.push(s);
  const { port } = await s.listen('127.0.0.1', 0);
  return `127.0.0.1:${port}`;
}

describe('node channel', () => {
  it('answers a call to a client holding the key, over an authenticated, encrypted TLS session', async () => {
    const key = crypto.randomBytes(32);
    const address = await node(key, { call: async (req) => ({ asked: req }) });
    expect(await callNode(address, key, { op: 'serial-log', instanceId: ID, bytes: 100 })).toEqual({ asked: { op: 'serial-log', instanceId: ID, bytes: 100 } });
  });

  it('refuses a client with another key before it reads a byte of the request', async () => {
    let asked = 0;
    const address = await node(crypto.randomBytes(32), {
      call: async () => {
        asked++;
        return 'secret';
      },
    });
    await expect(callNode(address, crypto.randomBytes(32), { op: 'ping' }, 3000)).rejects.toThrow(/could not be reached|closed/);
    expect(asked).toBe(0);
  });

  it('refuses plain TCP and TLS with a certificate instead of the key', async () => {
    const address = await node(crypto.randomBytes(32), { call: async () => 'secret' });
    const { host, port } = parseNodeAddress(address);
    const plain = net.connect(port, host);
    plain.write('{"op":"ping"}\n');
    const got = await new Promise<string>((resolve) => {
      let text = '';
      plain.on('data', (d) => (text += d.toString('latin1')));
      plain.on('close', () => resolve(text));
      plain.on('error', () => resolve(text));
    });
    expect(got).not.toContain('secret');
    const cert = tls.connect({ host, port, rejectUnauthorized: false });
    const err = await new Promise<Error>((resolve) => cert.once('error', resolve));
    expect(err.message).toMatch(/handshake|cipher|alert/i);
  });

  it('carries a node refusal back as its code and sentence', async () => {
    const key = crypto.randomBytes(32);
    const address = await node(key, {
      call: async () => {
        throw new NodeError('NOT_FOUND', 'no such guest on this host');
      },
    });
    const err = await callNode(address, key, { op: 'guest-info', instanceId: ID }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'no such guest on this host' });
  });

  it('streams bytes both ways after the answer, and closes the client when the stream ends', async () => {
    const key = crypto.randomBytes(32);
    const address = await node(key, {
      open: async (req) => {
        // A stand-in for the guest's console socket: a local echo server that greets first.
        const echo = net.createServer((s) => {
          s.write(`hello ${req.op === 'console' ? req.kind : req.op} ${req.instanceId}\n`);
          s.on('data', (d) => (d.toString() === 'bye' ? s.end() : s.write(d)));
        });
        await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
        const sock = net.connect((echo.address() as net.AddressInfo).port, '127.0.0.1');
        await new Promise((r) => sock.once('connect', r));
        sock.on('close', () => echo.close());
        return sock;
      },
    });
    const s = await openNodeStream(address, key, { op: 'console', instanceId: ID, kind: 'vnc' });
    const received: Buffer[] = [];
    s.on('data', (d: Buffer) => received.push(d));
    s.resume();
    const until = async (text: string) => {
      for (let i = 0; i < 100 && !Buffer.concat(received).toString().includes(text); i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until('hello');
    s.write('ping-1');
    await until('ping-1');
    expect(Buffer.concat(received).toString()).toBe(`hello vnc ${ID}\nping-1`);
    const closed = new Promise((r) => s.once('close', r));
    s.write('bye');
    await closed;
  });

  it('checks every request field on the node', () => {
    expect(parseNodeRequest('{"op":"ping"}')).toEqual({ op: 'ping' });
    expect(parseNodeRequest(`{"op":"console","instanceId":"${ID}","kind":"vnc"}`)).toEqual({ op: 'console', instanceId: ID, kind: 'vnc' });
    expect(parseNodeRequest(`{"op":"console","instanceId":"${ID}","kind":"qmp"}`)).toBeNull();
    expect(parseNodeRequest('{"op":"console","instanceId":"../../etc/passwd","kind":"vnc"}')).toBeNull();
    expect(parseNodeRequest(`{"op":"serial-log","instanceId":"${ID}","bytes":1e9}`)).toBeNull();
    expect(parseNodeRequest('{"op":"shell","cmd":"id"}')).toBeNull();
    expect(parseNodeRequest('not json')).toBeNull();
    expect(() => parseNodeAddress('10.0.0.1')).toThrow(/host:port/);
    expect(() => parseNodeAddress('10.0.0.1:99999')).toThrow(/host:port/);
    expect(parseNodeAddress('[::1]:7700')).toEqual({ host: '::1', port: 7700 });
  });

  it('reads the key from CIRRUS_CLUSTER_KEY_FILE only when no one else can read it, else makes one in the data dir', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-key-'));
    const was = process.env.CIRRUS_CLUSTER_KEY_FILE;
    try {
      delete process.env.CIRRUS_CLUSTER_KEY_FILE;
      const made = clusterKey(dir);
      expect(made.length).toBe(32);
      expect(clusterKey(dir).equals(made)).toBe(true);
      const file = path.join(dir, 'shared-key');
      fs.writeFileSync(file, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o644 });
      process.env.CIRRUS_CLUSTER_KEY_FILE = file;
      expect(() => clusterKey(dir)).toThrow(/readable by others/);
      fs.chmodSync(file, 0o600);
      expect(clusterKey(dir).equals(made)).toBe(false);
      fs.writeFileSync(file, 'short\n');
      expect(() => clusterKey(dir)).toThrow(/at least 32 bytes/);
    } finally {
      if (was === undefined) delete process.env.CIRRUS_CLUSTER_KEY_FILE;
      else process.env.CIRRUS_CLUSTER_KEY_FILE = was;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
