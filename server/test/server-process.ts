// Runs the real Cirrus server (server.ts, production build) as a child process
// for tests that need the whole thing: HTTP, jobs, reconciler and real QEMU.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../db/embedded';
import { HostNetwork } from '../hypervisor/net/host-network';
import { hostTag } from '../hypervisor/net/names';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export type ServerProcess = {
  url: string;
  pid: number;
  output: () => string;
  /** kill -9: no shutdown code runs. */
  kill9: () => Promise<void>;
  stop: () => Promise<void>;
};

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** `wrap`: a command the server runs under (argv), e.g. `setpriv --bounding-set=-net_admin` to take a capability away. */
export async function startServer(opts: { databaseUrl: string; dataDir: string; env?: Record<string, string>; wrap?: string[] }): Promise<ServerProcess> {
  if (!fs.existsSync(path.join(repoRoot, '.next', 'BUILD_ID'))) {
    throw new Error('These tests run the production build: run `npx next build` (npm test does) first.');
  }
  const port = await freePort();
  let log = '';
  const argv = [...(opts.wrap ?? []), process.execPath, '--import', 'tsx', 'server.ts'];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: opts.databaseUrl,
      CIRRUS_DATA_DIR: opts.dataDir,
      CIRRUS_IMAGES_DIR: process.env.CIRRUS_IMAGES_DIR ?? path.join(repoRoot, '.data', 'images'),
      ...opts.env,
    },
  });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${log}`);
    const ok = await fetch(`${url}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not healthy after 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: child.pid!,
    output: () => log,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited(child), new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A tRPC call over HTTP with a bearer token; returns the data or the error's domain code. */
export async function trpc<T = unknown>(
  url: string,
  token: string,
  pathName: string,
  input: unknown,
  kind: 'query' | 'mutation' = 'mutation',
): Promise<{ ok: true; data: T } | { ok: false; status: number; reason: string; message: string }> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const send = () =>
    kind === 'mutation'
      ? fetch(`${url}/api/trpc/${pathName}`, { method: 'POST', headers, body: JSON.stringify({ json: input }) })
      : fetch(`${url}/api/trpc/${pathName}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers });
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // A kept-alive connection the server closed as idle just as fetch reused it
    // ("other side closed"): the server read nothing of this request, so it is
    // sent again once, on a new connection. Anything else is the server's answer.
    if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    res = await send();
  }
  const body = (await res.json()) as { result?: { data: { json: T } }; error?: { json: { message: string; data: { reason: string } } } };
  if (body.result) return { ok: true, data: body.result.data.json };
  return { ok: false, status: res.status, reason: body.error?.json.data.reason ?? 'UNKNOWN', message: body.error?.json.message ?? '' };
}

/** Host processes running QEMU for this guest id (read from /proc, no shell). */
export function qemuProcessesFor(guestId: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.includes('qemu-system') && argv.some((a) => a.startsWith(`guest=${guestId},`) || a === `guest=${guestId}`)) pids.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids;
}

export async function waitFor<T>(what: string, fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await fn();
    if (ok(last)) return last;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The host id a server's data directory gave its host (null before its first start). */
export function hostIdOf(dataDir: string): string | null {
  try {
    return fs.readFileSync(path.join(dataDir, 'secrets', 'host-id'), 'utf8').trim();
  } catch {
    return null;
  }
}

/** The network tag of the host a data directory is (names its bridges, taps, namespaces and nft tables). */
export function hostTagOf(dataDir: string): string | null {
  const id = hostIdOf(dataDir);
  return id ? hostTag(id) : null;
}

/**
 * Take down every network the host of `dataDir` built in this kernel (a test's
 * servers may have been killed with guests and networks still up).
 */
export async function teardownHostNetwork(dataDir: string): Promise<void> {
  const hostId = hostIdOf(dataDir);
  if (hostId) await new HostNetwork({ hostId, tag: hostTag(hostId) }).teardown().catch(() => undefined);
}
