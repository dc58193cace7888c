import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agent, agentCall, GuestAgentError } from './guest-agent';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-qga-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in for qemu-ga's side of the virtio-serial port, speaking its
 * protocol: it answers guest-sync-delimited after a 0xFF byte, then the command.
 * `stale` is written first, as a previous client's unread answer would be.
 */
function fakeAgent(name: string, opts: { stale?: string; answer: (cmd: { execute: string; arguments?: unknown }) => unknown | undefined }) {
  const sock = path.join(dir, name);
  const seen: { execute: string; arguments?: unknown }[] = [];
  const server = net.createServer((c) => {
    let buf = '';
    if (opts.stale) c.write(opts.stale);
    c.on('data', (d) => {
      buf += d.toString('latin1').replace(/\xff/g, '');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: { id?: number } };
        buf = buf.slice(nl + 1);
        seen.push(msg);
        if (msg.execute === 'guest-sync-delimited') {
          c.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: msg.arguments?.id }) + '\n')]));
          continue;
        }
        const reply = opts.answer(msg);
        if (reply !== undefined) c.write(JSON.stringify(reply) + '\n');
      }
    });
  });
  server.listen(sock);
  return { sock, seen, close: () => server.close() };
}

describe('agentCall', () => {
  it('syncs past stale bytes, then returns the command’s answer', async () => {
    const a = fakeAgent('stale.sock', { stale: '{"return": {"old": true}}\n{"ret', answer: () => ({ return: { 'pretty-name': 'Debian GNU/Linux 12 (bookworm)' } }) });
    try {
      await expect(agent.osInfo(a.sock)).resolves.toEqual({ 'pretty-name': 'Debian GNU/Linux 12 (bookworm)' });
      expect(a.seen.map((m) => m.execute)).toEqual(['guest-sync-delimited', 'guest-get-osinfo']);
    } finally {
      a.close();
    }
  });

  it('reports the agent’s refusal, and silence, as GuestAgentError', async () => {
    const a = fakeAgent('refuse.sock', {
      answer: (m) => (m.execute === 'guest-fsfreeze-freeze' ? { error: { class: 'GenericError', desc: 'fsfreeze is disabled' } } : undefined),
    });
    try {
      await expect(agent.fsFreeze(a.sock)).rejects.toThrow(/fsfreeze is disabled/);
      await expect(agentCall(a.sock, 'guest-info', undefined, { timeoutMs: 300 })).rejects.toBeInstanceOf(GuestAgentError);
    } finally {
      a.close();
    }
  });

  it('sends guest-shutdown (powerdown, reboot) and does not wait for an answer it never gets', async () => {
    const a = fakeAgent('shutdown.sock', { answer: () => undefined });
    try {
      await expect(agent.shutdown(a.sock)).resolves.toBeUndefined();
      expect(a.seen[1]).toEqual({ execute: 'guest-shutdown', arguments: { mode: 'powerdown' } });
      await expect(agent.reboot(a.sock)).resolves.toBeUndefined();
      expect(a.seen[3]).toEqual({ execute: 'guest-shutdown', arguments: { mode: 'reboot' } });
    } finally {
      a.close();
    }
  });

  it('says the agent is not reachable when nothing listens', async () => {
    await expect(agent.ping(path.join(dir, 'none.sock'))).rejects.toThrow(/not reachable/);
  });
});
