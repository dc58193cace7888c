// The console proxy: /api/console/ws?ticket=… in the custom server.
// 1. Refuse (origin, ticket, limits) before any guest byte · 2. Pipe bytes both
// ways with backpressure · 3. Close when access ends · 4. Keepalive and shutdown.
// bench/console-overhead.ts measures what the proxy adds against a direct socket.
import crypto from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Db } from '../db/client';
import type { HypervisorDriver } from '../hypervisor';
import { guestsOn, type GuestAccess } from '../cluster/guests';
import { countConsoleSession } from '../metrics/registry';
import { ALL_TENANTS } from './access-notify';
import { auditConsole, hostOf, redeemTicket, stillAllowed, type RedeemedTicket } from './tickets';

export const CONSOLE_PATH = '/api/console/ws';

export type ConsoleProxyOptions = {
  db: Db;
  /** The live side of a host's guests: here, or through its node channel (default: guestsOn). Null: out of this server's reach. */
  guests?: (hostId: string) => Promise<GuestAccess | null>;
  /** Cirrus's own origin (e.g. http://localhost:3000); a request from the same host is accepted too. */
  publicOrigin: string;
  maxSessionsPerUser?: number;
  checkEveryMs?: number;
  pingEveryMs?: number;
};

type Session = { id: string; ticket: RedeemedTicket; ws: WebSocket; close: (code: number, reason: string) => void };

/** A close frame's reason holds at most 123 bytes of UTF-8 (RFC 6455); longer text is cut with an ellipsis. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let cut = text;
  while (Buffer.byteLength(`${cut}…`) > 123) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Guest bytes the WebSocket may hold unsent before the guest socket is paused:
 * enough that a browser keeping up never sees a pause (the kernel's socket
 * buffers come on top), small enough that a slow one costs us 1 MiB a session,
 * not a queue of whole screens.
 */
export const GUEST_HIGH_WATER = 1 << 20;

export class ConsoleProxy {
  // No permessage-deflate (a browser offers it; we decline): noVNC's data is
  // already encoded (raw, or zlib/tight, which compress themselves), so deflating
  // it again costs CPU and latency on every frame and saves little on a LAN.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
  private readonly sessions = new Map<string, Session>();
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly maxPerUser: number;

  constructor(private readonly opts: ConsoleProxyOptions) {
    this.maxPerUser = opts.maxSessionsPerUser ?? Number(process.env.CIRRUS_CONSOLE_MAX_SESSIONS ?? 4);
    // 3. Access can end while a session is open: check every second.
    this.timers.push(setInterval(() => void this.recheck(), opts.checkEveryMs ?? 1000));
    // 4. Pings keep idle sessions alive through proxies; a peer that stops answering is dropped.
    this.timers.push(
      setInterval(() => {
        for (const s of this.sessions.values()) {
          const alive = s.ws as WebSocket & { cirrusAlive?: boolean };
          if (alive.cirrusAlive === false) s.ws.terminate();
          alive.cirrusAlive = false;
          s.ws.ping();
        }
      }, opts.pingEveryMs ?? 20_000),
    );
    for (const t of this.timers) t.unref();
  }

  /** Subscribe to the driver's events so a stopping guest closes its sessions at once. */
  watch(driver: HypervisorDriver) {
    this.unsubscribe?.();
    this.unsubscribe = driver.onEvent((e) => {
      if (e.type !== 'stopped') return;
      for (const s of this.sessions.values()) if (s.ticket.instanceId === e.id) void this.guestGone(s, 'The instance stopped.');
    });
  }

  private originAllowed(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return false;
    if (origin === new URL(this.opts.publicOrigin).origin) return true;
    const host = req.headers.host;
    return !!host && (origin === `http://${host}` || origin === `https://${host}`);
  }

  /** Refuse with a WebSocket close (the browser can read the reason); nothing of the guest is ever sent. */
  private refuse(req: http.IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string) {
    this.wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, closeReason(reason)));
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // 1. Origin first: a page on another site must not even complete a handshake.
    if (!this.originAllowed(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nThe console only opens from Cirrus itself.\n');
      return;
    }
    void this.admit(req, socket, head).catch((err) => {
      console.error('[console] upgrade failed:', err);
      if (!socket.destroyed) this.refuse(req, socket, head, 1011, 'The console could not be opened. Try again.');
    });
  }

  private async admit(req: http.IncomingMessage, socket: Duplex, head: Buffer) {
    const secret = new URL(req.url ?? '', 'http://x').searchParams.get('ticket');
    const redeemed = await redeemTicket(this.opts.db, secret);
    if (!redeemed.ok) {
      if (redeemed.audit) await auditConsole(this.opts.db, redeemed.audit, 'failure', { reason: redeemed.reason });
      return this.refuse(req, socket, head, redeemed.code, redeemed.reason);
    }
    const ticket = redeemed.ticket;
    const who = { userId: ticket.userId, email: ticket.email, tenantId: ticket.tenantId, instanceId: ticket.instanceId };
    const open = [...this.sessions.values()].filter((s) => s.ticket.userId === ticket.userId).length;
    if (open >= this.maxPerUser) {
      const reason = `You already have ${open} console sessions open, the most allowed. Close one and try again.`;
      await auditConsole(this.opts.db, who, 'failure', { reason });
      return this.refuse(req, socket, head, 4429, reason);
    }
    // A guest's serial port takes one client at a time: a second would connect and hear nothing.
    if (ticket.kind === 'serial' && [...this.sessions.values()].some((s) => s.ticket.kind === 'serial' && s.ticket.instanceId === ticket.instanceId)) {
      const reason = 'The serial console of this instance is already open (perhaps in another tab). Close it there first.';
      await auditConsole(this.opts.db, who, 'failure', { reason });
      return this.refuse(req, socket, head, 4429, reason);
    }
    // The guest's host: this server's, or a node reached through its channel (never a VNC port of its own).
    const guests = await (this.opts.guests ?? ((hostId) => guestsOn(this.opts.db, hostId)))(ticket.hostId);
    if (!guests) return this.refuse(req, socket, head, 4503, 'The instance’s host cannot be reached from this server.');
    let guest: net.Socket;
    try {
      guest = await guests.openConsole(ticket.instanceId, ticket.kind);
    } catch (err) {
      console.error(`[console] ${ticket.instanceId}: ${err instanceof Error ? err.message : err}`);
      return this.refuse(req, socket, head, 4503, 'The instance’s console could not be reached. Try again in a moment.');
    }
    if (socket.destroyed) {
      guest.destroy();
      return;
    }
    await auditConsole(this.opts.db, who, 'success', { kind: ticket.kind, ticket: ticket.ticketId });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.pipe(ws, guest, ticket));
  }

  // 2. Bytes both ways, each chunk as it comes and without a copy: a guest chunk
  // (a local guest's socket reads up to what the kernel holds, connectConsoleSocket)
  // is one binary frame, sent at once; a browser message is written to the guest
  // as is. Nagle is off on the WebSocket's socket (ws sets it) and means nothing
  // on the guest's unix socket. Backpressure either way: the guest socket pauses
  // while the WebSocket holds more than GUEST_HIGH_WATER bytes unsent and resumes
  // once they are written; the WebSocket pauses while the guest's socket is full.
  private pipe(ws: WebSocket, guest: net.Socket, ticket: RedeemedTicket) {
    const id = crypto.randomUUID();
    let closed = false;
    // Every way a session ends comes through here once (the guard): the open-sessions gauge goes down once.
    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      this.sessions.delete(id);
      countConsoleSession(ticket.kind, -1);
      guest.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, closeReason(reason));
    };
    this.sessions.set(id, { id, ticket, ws, close });
    countConsoleSession(ticket.kind, 1);
    (ws as WebSocket & { cirrusAlive?: boolean }).cirrusAlive = true;
    ws.on('pong', () => ((ws as WebSocket & { cirrusAlive?: boolean }).cirrusAlive = true));
    const session = this.sessions.get(id)!;

    const sent = (err?: Error) => {
      if (err) return close(1000, 'Closed.');
      if (guest.isPaused() && ws.bufferedAmount <= GUEST_HIGH_WATER / 2) guest.resume();
    };
    guest.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true, compress: false }, sent);
      if (ws.bufferedAmount > GUEST_HIGH_WATER) guest.pause();
    });
    ws.on('message', (data: Buffer) => {
      if (closed) return;
      if (!guest.write(data) && !ws.isPaused) {
        ws.pause();
        guest.once('drain', () => ws.resume());
      }
    });
    // The guest's end is ours to tell, with a close code and the reason: neither
    // its end nor an error (a killed QEMU resets the socket) closes the WebSocket first.
    guest.on('error', () => undefined);
    guest.on('close', () => void this.guestGone(session, 'The console connection to the guest ended.'));
    ws.on('error', () => close(1000, 'Closed.'));
    ws.on('close', () => close(1000, 'Closed.'));
    // It comes paused (nothing read before these listeners were there): the guest's first bytes are the RFB greeting.
    guest.resume();
  }

  /**
   * The guest went away (its instance stopped, or its socket ended): access is
   * asked first — a suspension stops the instance too, and the user should read
   * the suspension, not "stopped".
   */
  private async guestGone(s: Session, fallback: string) {
    if (!this.sessions.has(s.id)) return;
    const why = await stillAllowed(this.opts.db, s.ticket).catch(() => null);
    const denied = why !== null && !why.startsWith('The instance');
    // Moved live to another host: the guest runs on, and a new connection (the console's next try) reaches it there.
    const moved = !why && (await hostOf(this.opts.db, s.ticket.instanceId).catch(() => null)) !== s.ticket.hostId;
    s.close(denied ? 4403 : 4410, denied ? why : moved ? 'The instance moved to another host; reconnecting there.' : fallback);
  }

  /** Recheck now the sessions of one tenant, or all (ALL_TENANTS): access changed (access-notify.ts). */
  recheckTenant(tenantId: string): Promise<void> {
    return this.recheck(tenantId === ALL_TENANTS ? undefined : tenantId);
  }

  private async recheck(tenantId?: string) {
    for (const s of [...this.sessions.values()]) {
      if (tenantId && s.ticket.tenantId !== tenantId) continue;
      const why = await stillAllowed(this.opts.db, s.ticket).catch(() => null);
      if (why) s.close(why.startsWith('The instance') ? 4410 : 4403, why);
    }
  }

  /** Sessions open now (for tests and health). */
  get openSessions(): number {
    return this.sessions.size;
  }

  closeAll(reason = 'Cirrus is restarting; reconnect in a moment.') {
    for (const s of [...this.sessions.values()]) s.close(1001, reason);
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    this.wss.close();
  }
}
