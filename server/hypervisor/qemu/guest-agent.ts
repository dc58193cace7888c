// The QEMU guest agent (qemu-ga inside the guest), reached through the
// virtio-serial port QEMU exposes as a Unix socket. The channel has no
// framing of its own and may hold a previous client's half-read answer, so
// every exchange starts with guest-sync-delimited: the agent answers it after
// a 0xFF byte, and anything before that byte is stale. One short connection
// per call; the socket serves one client at a time.
import { randomInt } from 'node:crypto';
import net from 'node:net';

export class GuestAgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestAgentError';
  }
}

export interface AgentCallOptions {
  timeoutMs?: number;
  /** For commands that answer nothing on success (guest-shutdown): resolve once sent and synced. */
  noReply?: boolean;
}

/** Run one agent command; rejects with GuestAgentError when the agent is absent, silent or refuses. */
export async function agentCall<T>(socketPath: string, command: string, args?: Record<string, unknown>, opts: AgentCallOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const syncId = randomInt(1, 2 ** 31);
  const sock = net.createConnection({ path: socketPath });
  return new Promise<T>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let synced = false;
    const finish = (err: Error | null, value?: T) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new GuestAgentError(`the guest agent did not answer ${command} within ${timeoutMs} ms`)), timeoutMs);
    sock.once('error', (e) => finish(new GuestAgentError(`the guest agent is not reachable: ${e.message}`)));
    sock.once('connect', () => {
      // The 0xFF first flushes any partial command the agent's parser holds.
      sock.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id: syncId } }) + '\n')]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!synced) {
          const ff = buf.lastIndexOf(0xff);
          if (ff >= 0) buf = buf.subarray(ff + 1);
        }
        const nl = buf.indexOf(0x0a);
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('utf8').trim();
        buf = buf.subarray(nl + 1);
        if (!line) continue;
        let msg: { return?: unknown; error?: { class?: string; desc?: string } };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue; // stale bytes of an earlier exchange
        }
        if (!synced) {
          if (msg.return !== syncId) continue;
          synced = true;
          sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) }) + '\n');
          if (opts.noReply) {
            // Give the agent a moment to read it before we hang up.
            setTimeout(() => finish(null, undefined), 200);
          }
          continue;
        }
        if (msg.error) return finish(new GuestAgentError(`${command}: ${msg.error.desc ?? msg.error.class ?? 'refused'}`));
        return finish(null, msg.return as T);
      }
    });
  });
}

// Typed commands (only the fields Cirrus reads; see qemu-ga's QAPI schema).

export interface AgentOsInfo {
  'pretty-name'?: string;
  name?: string;
  'version-id'?: string;
  'kernel-release'?: string;
  machine?: string;
}

export interface AgentInterface {
  name: string;
  'hardware-address'?: string;
  'ip-addresses'?: { 'ip-address-type': 'ipv4' | 'ipv6'; 'ip-address': string; prefix: number }[];
}

export const agent = {
  ping: (sock: string, timeoutMs = 2_000) => agentCall<Record<string, never>>(sock, 'guest-ping', undefined, { timeoutMs }),
  osInfo: (sock: string) => agentCall<AgentOsInfo>(sock, 'guest-get-osinfo'),
  hostName: (sock: string) => agentCall<{ 'host-name': string }>(sock, 'guest-get-host-name'),
  interfaces: (sock: string) => agentCall<AgentInterface[]>(sock, 'guest-network-get-interfaces'),
  /** Ask the guest OS to power off (it answers nothing when it complies). */
  shutdown: (sock: string) => agentCall<void>(sock, 'guest-shutdown', { mode: 'powerdown' }, { noReply: true }),
  /** Ask the guest OS to reboot itself (no answer when it complies). */
  reboot: (sock: string) => agentCall<void>(sock, 'guest-shutdown', { mode: 'reboot' }, { noReply: true, timeoutMs: 3_000 }),
  /** Flush and freeze every frozen-capable filesystem; returns how many. */
  fsFreeze: (sock: string) => agentCall<number>(sock, 'guest-fsfreeze-freeze', undefined, { timeoutMs: 30_000 }),
  fsThaw: (sock: string) => agentCall<number>(sock, 'guest-fsfreeze-thaw', undefined, { timeoutMs: 30_000 }),
  fsFreezeStatus: (sock: string) => agentCall<'thawed' | 'frozen'>(sock, 'guest-fsfreeze-status'),
};
