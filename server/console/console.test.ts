// The console proxy against a real server and a real guest, with a raw
// WebSocket client: what opens, what is refused, and that nothing of the
// guest's screen leaks before a refusal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, consoleTickets, instances, memberships, tenants } from '../db/schema';
import { createToken } from '../tokens';
import { setQuota } from '../test/compute';
import { addRole, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { qemuProcessesFor, startServer, teardownHostNetwork, trpc, waitFor, type ServerProcess } from '../test/server-process';

let t: TestDatabase;
let srv: ServerProcess;
let dir: string;
let tenantId: string;
let instanceId: string;
const tokens: Record<'owner' | 'member' | 'viewer' | 'outsider', string> = { owner: '', member: '', viewer: '', outsider: '' };
let memberUserId = '';

type Outcome = { opened: boolean; data: Buffer; closeCode: number | null; closeReason: string; httpStatus: number | null; ws: WebSocket };

/**
 * Connect and report how it went: resolves when the server closes or refuses,
 * when `until` holds for what arrived, or after `ms` at the latest.
 */
function connect(pathWithTicket: string, opts: { origin?: string | null; ms?: number; until?: (o: Outcome) => boolean } = {}): Promise<Outcome> {
  const origin = opts.origin === undefined ? srv.url : opts.origin;
  return new Promise((resolve) => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + pathWithTicket, origin ? { origin } : {});
    const out: Outcome = { opened: false, data: Buffer.alloc(0), closeCode: null, closeReason: '', httpStatus: null, ws };
    const done = () => resolve(out);
    ws.on('open', () => (out.opened = true));
    ws.on('message', (d: Buffer) => {
      out.data = Buffer.concat([out.data, d]);
      if (opts.until?.(out)) done();
    });
    ws.on('unexpected-response', (_req, res) => {
      out.httpStatus = res.statusCode ?? null;
      done();
    });
    ws.on('close', (code, reason) => {
      out.closeCode = code;
      out.closeReason = reason.toString();
      done();
    });
    ws.on('error', () => undefined);
    setTimeout(done, opts.ms ?? 10_000);
  });
}

const ticketFor = async (who: keyof typeof tokens, kind: 'vnc' | 'serial' = 'vnc', id = instanceId) =>
  trpc<{ path: string; expiresAt: string }>(srv.url, tokens[who], 'console.ticket', { tenantId, instanceId: id, kind });

async function pathFor(who: keyof typeof tokens = 'owner', kind: 'vnc' | 'serial' = 'vnc') {
  const r = await ticketFor(who, kind);
  if (!r.ok) throw new Error(`ticket refused: ${r.message}`);
  return r.data.path;
}

beforeAll(async () => {
  t = await createTestDatabase();
  const [owner, member, viewer, outsider] = await Promise.all([makeUser(t.db), makeUser(t.db), makeUser(t.db), makeUser(t.db)]);
  const tenant = await makeTenant(t.db, owner);
  await makeTenant(t.db, outsider, 'Elsewhere');
  tenantId = tenant.id;
  memberUserId = member.id;
  await addRole(t.db, tenant, member, 'member');
  await addRole(t.db, tenant, viewer, 'viewer');
  await setQuota(t.db, tenantId, {});
  for (const [k, u] of Object.entries({ owner, member, viewer, outsider })) {
    tokens[k as keyof typeof tokens] = (await createToken(t.db, { kind: 'user', userId: u.id, email: u.email, isAdmin: false, requestId: 't' }, { name: 't' })).secret;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-console-'));
  fs.chmodSync(dir, 0o711);
  srv = await startServer({ databaseUrl: t.url, dataDir: dir });
  const launched = await trpc<{ id: string }>(srv.url, tokens.owner, 'instances.launch', {
    tenantId,
    name: 'console',
    imageId: 'cirrus-tiny-linux',
    vcpus: 1,
    memoryMiB: 128,
    diskGiB: 1,
    nics: 1,
  });
  if (!launched.ok) throw new Error(launched.message);
  instanceId = launched.data.id;
  await waitFor('running', async () => (await t.db.select().from(instances).where(eq(instances.id, instanceId)))[0]?.state, (s) => s === 'running', 60_000);
}, 180_000);

afterAll(async () => {
  await trpc(srv.url, tokens.owner, 'instances.terminate', { tenantId, instanceId }).catch(() => undefined);
  await waitFor('terminated', () => qemuProcessesFor(instanceId), (p) => p.length === 0, 30_000).catch(() => undefined);
  await srv.stop();
  for (const pid of qemuProcessesFor(instanceId)) process.kill(pid, 'SIGKILL');
  await teardownHostNetwork(dir);
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('console proxy', { timeout: 60_000 }, () => {
  it('a member’s ticket opens the guest’s VNC (RFB 003.008), once; the ticket is stored only hashed and audited', async () => {
    const p = await pathFor('member');
    const ok = await connect(p, { until: (o) => o.data.length >= 12 });
    expect(ok.opened).toBe(true);
    expect(ok.data.subarray(0, 12).toString()).toBe('RFB 003.008\n');
    ok.ws.close();
    const secret = new URL(p, 'http://x').searchParams.get('ticket')!;
    const stored = await t.db.select().from(consoleTickets);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const again = await connect(p);
    expect(again.data.length).toBe(0);
    expect(again.closeCode).toBe(4401);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.action, 'console.open'));
    expect(audit.map((a) => a.outcome)).toEqual(expect.arrayContaining(['success']));
  });

  it('carries a whole-screen update to the exact byte, in binary frames, uncompressed though the client offers permessage-deflate', async () => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + (await pathFor('owner')), { origin: srv.url, perMessageDeflate: true });
    let got = Buffer.alloc(0);
    let allBinary = true;
    ws.on('message', (d: Buffer, isBinary) => {
      got = Buffer.concat([got, d]);
      allBinary &&= isBinary;
    });
    await new Promise((r) => ws.once('open', r));
    expect(ws.extensions).toBe('');
    let at = 0;
    const take = async (n: number) => {
      await waitFor(`${at + n} bytes from the guest`, () => got.length, (l) => l >= at + n, 20_000);
      at += n;
      return got.subarray(at - n, at);
    };
    await take(12);
    ws.send(Buffer.from('RFB 003.008\n'));
    await take((await take(1))[0]!);
    ws.send(Buffer.from([1])); // no authentication
    expect((await take(4)).readUInt32BE(0)).toBe(0);
    ws.send(Buffer.from([1])); // shared
    const init = await take(24);
    await take(init.readUInt32BE(20));
    const [width, height] = [init.readUInt16BE(0), init.readUInt16BE(2)];
    // 32 bpp true colour, then the whole screen, not incremental.
    ws.send(Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]));
    ws.send(Buffer.from([3, 0, 0, 0, 0, 0, width >> 8, width & 255, height >> 8, height & 255]));
    const head = await take(4);
    expect(head[0]).toBe(0);
    let area = 0;
    for (let n = head.readUInt16BE(2); n > 0; n--) {
      const rect = await take(12);
      expect(rect.readInt32BE(8)).toBe(0); // raw
      const pixels = rect.readUInt16BE(4) * rect.readUInt16BE(6);
      await take(pixels * 4);
      area += pixels;
    }
    expect(area).toBe(width * height);
    // The next message starts right after it: SetEncodings naming QEMU's extended key events is answered with a 16-byte update.
    ws.send(Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfe]));
    const ack = await take(16);
    expect([ack[0], ack.readUInt16BE(2), ack.readInt32BE(12)]).toEqual([0, 1, -258]);
    expect(allBinary).toBe(true);
    ws.close();
  });

  it('lets one client at a time on the serial console, and says so to the second', async () => {
    const first = connect(await pathFor('owner', 'serial'), { ms: 3_000 });
    await new Promise((r) => setTimeout(r, 500));
    const second = await connect(await pathFor('member', 'serial'));
    expect(second.closeCode).toBe(4429);
    expect(second.closeReason).toMatch(/already open/);
    (await first).ws.close();
  });

  it('refuses, before any guest byte: no ticket, a malformed one, an expired one', async () => {
    for (const p of ['/api/console/ws', '/api/console/ws?ticket=abc', `/api/console/ws?ticket=${'A'.repeat(43)}`]) {
      const r = await connect(p);
      expect(r.data.length, p).toBe(0);
      expect(r.closeCode, p).toBe(4401);
    }
    const p = await pathFor();
    await t.db.update(consoleTickets).set({ expiresAt: new Date(Date.now() - 1000) });
    const expired = await connect(p);
    expect(expired.data.length).toBe(0);
    expect(expired.closeCode).toBe(4401);
    expect(expired.closeReason).toMatch(/expired or was already used/);
  });

  it('refuses a wrong or missing Origin with a plain 403 (no handshake at all)', async () => {
    const p = await pathFor();
    const evil = await connect(p, { origin: 'http://evil.example' });
    expect(evil.httpStatus).toBe(403);
    expect(evil.opened).toBe(false);
    const none = await connect(p, { origin: null });
    expect(none.httpStatus).toBe(403);
    // The refused attempts did not burn the ticket: it still opens from Cirrus.
    const ok = await connect(p, { until: (o) => o.data.length >= 12 });
    expect(ok.opened).toBe(true);
    expect(ok.data.subarray(0, 4).toString()).toBe('RFB ');
    ok.ws.close();
  });

  it('gives no ticket to a viewer, to another tenant, or for a stopped instance', async () => {
    const viewer = await ticketFor('viewer');
    expect(!viewer.ok && viewer.reason).toBe('FORBIDDEN');
    const outsider = await ticketFor('outsider');
    expect(!outsider.ok && outsider.reason).toBe('NOT_FOUND');
  });

  it('refuses a ticket whose holder lost access before using it', async () => {
    const p = await pathFor('member');
    await t.db.update(memberships).set({ role: 'viewer' }).where(eq(memberships.userId, memberUserId));
    try {
      const r = await connect(p);
      expect(r.data.length).toBe(0);
      expect(r.closeCode).toBe(4403);
    } finally {
      await t.db.update(memberships).set({ role: 'member' }).where(eq(memberships.userId, memberUserId));
    }
  });

  it('closes an open session when an admin suspends the tenant, and refuses new ones until reactivated', async () => {
    const session = connect(await pathFor(), { ms: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
    // A long reason: the close frame carries at most 123 bytes, so it is cut, not refused by the socket.
    const reason = `unpaid invoices ${'é'.repeat(200)}`;
    await t.db.update(tenants).set({ suspendedAt: new Date(), suspendReason: reason }).where(eq(tenants.id, tenantId));
    const suspendedAt = Date.now();
    try {
      const ended = await session;
      expect(ended.closeCode).toBe(4403);
      expect(ended.closeReason).toMatch(/^This tenant was suspended by an administrator: unpaid invoices é+…$/);
      expect(Buffer.byteLength(ended.closeReason)).toBeLessThanOrEqual(123);
      expect(Date.now() - suspendedAt).toBeLessThan(3_000);
      const refused = await ticketFor('owner');
      expect(!refused.ok && refused.message).toMatch(/is suspended/);
    } finally {
      await t.db.update(tenants).set({ suspendedAt: null, suspendReason: null }).where(eq(tenants.id, tenantId));
    }
  });

  it('keeps the VNC socket off TCP: QEMU listens on no TCP port and its arguments name a unix socket', async () => {
    const [pid] = qemuProcessesFor(instanceId);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const vnc = argv[argv.indexOf('-vnc') + 1] ?? '';
    expect(vnc.startsWith('unix:')).toBe(true);
    const inodes = new Set(
      fs
        .readdirSync(`/proc/${pid}/fd`)
        .map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`))
        .map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1])
        .filter((x): x is string => !!x),
    );
    const listening = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(1) : []))
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[3] === '0A')
      .map((cols) => cols[9]);
    expect(listening.filter((inode) => inode && inodes.has(inode))).toEqual([]);
  });

  it('closes an open session within 2 s of its instance stopping, and then refuses tickets', async () => {
    const unused = await pathFor(); // issued while it runs, used after it stopped
    const session = connect(await pathFor(), { ms: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    const stop = await trpc(srv.url, tokens.owner, 'instances.stop', { tenantId, instanceId, force: true });
    expect(stop.ok).toBe(true);
    const stoppedAt = await waitFor(
      'stopped',
      async () => (await t.db.select().from(instances).where(eq(instances.id, instanceId)))[0],
      (r) => r?.state === 'stopped',
      20_000,
    ).then(() => Date.now());
    const ended = await session;
    expect(ended.closeCode).not.toBeNull();
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    const refused = await ticketFor('owner');
    expect(!refused.ok && refused.message).toMatch(/only while the instance runs/);
    const late = await connect(unused);
    expect(late.data.length).toBe(0);
    expect(late.closeCode).toBe(4409);
  });

  it('says the tenant was suspended even when the guest dies before the access check comes round', async () => {
    expect((await trpc(srv.url, tokens.owner, 'instances.start', { tenantId, instanceId })).ok).toBe(true);
    await waitFor('running', async () => (await t.db.select().from(instances).where(eq(instances.id, instanceId)))[0]?.state, (s) => s === 'running', 60_000);
    const session = connect(await pathFor(), { ms: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
    // The suspension's stop winning the race: the guest's socket resets at once, long before the 1-second recheck.
    await t.db.update(tenants).set({ suspendedAt: new Date(), suspendReason: 'Unpaid invoices' }).where(eq(tenants.id, tenantId));
    for (const pid of qemuProcessesFor(instanceId)) process.kill(pid, 'SIGKILL');
    try {
      const ended = await session;
      expect([ended.closeCode, ended.closeReason]).toEqual([4403, 'This tenant was suspended by an administrator: Unpaid invoices.']);
    } finally {
      await t.db.update(tenants).set({ suspendedAt: null, suspendReason: null }).where(eq(tenants.id, tenantId));
    }
  });
});
