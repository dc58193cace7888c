// Cirrus's custom server: boots the runtime (data dir, PostgreSQL, migrations,
// seed), serves Next.js, owns WebSocket upgrades and background workers, and
// shuts all of it down cleanly on SIGINT/SIGTERM. CIRRUS_ROLE picks its part
// in a cluster (server/cluster/role.ts): a compute node serves no web at all.
//
// 1. Options · 2. Boot · 3. Next.js and HTTP · 4. Upgrades · 5. Shutdown
import http from 'node:http';
import path from 'node:path';
import { clusterKey } from './server/cluster/channel';
import { haConfig, type HaConfig } from './server/cluster/ha';
import { setClusterContext } from './server/cluster/guests';
import { runsGuests, serverRole, servesWeb, type ServerRole } from './server/cluster/role';
import { startClusterChores } from './server/runtime/chores';
import { DataDirInUseError } from './server/runtime/data-lock';
import { boot, type Runtime } from './server/runtime/boot';
import { listenConsoleAccess } from './server/console/access-notify';
import { CONSOLE_PATH, ConsoleProxy } from './server/console/proxy';
import { startCompute, type Compute } from './server/runtime/compute';

// ---------------------------------------------------------------- 1. options
const dev = process.argv.includes('--dev');
const port = Number.parseInt(process.env.PORT ?? '3000', 10);
const hostname = process.env.HOST ?? '0.0.0.0';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`[cirrus] PORT must be a TCP port number, not "${process.env.PORT}"`);
  process.exit(2);
}

let role: ServerRole;
let ha: HaConfig;
try {
  role = serverRole();
  ha = haConfig();
} catch (err) {
  console.error(`[cirrus] ${err instanceof Error ? err.message : err}`);
  process.exit(2);
}

async function main() {
  // -------------------------------------------------------------- 2. boot
  let runtime: Runtime;
  try {
    runtime = await boot({ port, web: servesWeb(role) });
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      console.error(`\n[cirrus] ${err.message}\n`);
      process.exit(3);
    }
    throw err;
  }

  // Compute (hypervisor driver, job worker, reconciler, node channel). Without it
  // a server of both roles still serves the console; launches are refused until a host is available.
  let compute: Compute | null = null;
  if (runsGuests(role)) {
    try {
      compute = await startCompute({ db: runtime.db, databaseUrl: process.env.DATABASE_URL as string, dataDir: runtime.dataDir, log: console.log });
    } catch (err) {
      console.error(`[cirrus] compute is unavailable on this host: ${err instanceof Error ? err.message : err}`);
      // A node is its compute: without it there is nothing to serve.
      if (role === 'compute') {
        await runtime.shutdown();
        process.exit(5);
      }
    }
  } else {
    // A control plane reaches every host's guests through their node channels, with the cluster's key.
    setClusterContext({ hostId: null, local: null, key: clusterKey(runtime.dataDir) });
  }
  if (role === 'compute') return serveNode(runtime, compute!);
  const stopChores = startClusterChores(runtime.db, ha, console.log);

  const consoleProxy = new ConsoleProxy({
    db: runtime.db,
    publicOrigin: process.env.NEXTAUTH_URL ?? `http://localhost:${port}`,
  });
  if (compute) consoleProxy.watch(compute.driver);
  // Suspensions and the like close open consoles the moment they commit, on every server.
  const stopListening = await listenConsoleAccess(
    process.env.DATABASE_URL as string,
    (tenantId) => void consoleProxy.recheckTenant(tenantId),
    console.log,
  ).catch((err: Error) => {
    console.error(`[cirrus] console access changes are checked every second only: ${err.message}`);
    return async () => undefined;
  });

  const server = http.createServer();
  let shuttingDown = false;
  const stop = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log('[cirrus] shutting down…');
    consoleProxy.closeAll();
    stopChores();
    await stopListening();
    const computeStopped = compute?.stop().catch((err) => console.error('[cirrus] stopping compute:', err));
    await new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      setTimeout(resolve, 5000).unref();
    });
    await computeStopped;
    await runtime.shutdown();
    console.log('[cirrus] stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  // -------------------------------------------------------------- 3. Next.js and HTTP
  const { default: next } = await import('next');
  const app = next({ dev, dir: path.resolve(import.meta.dirname), hostname: 'localhost', port });
  const handle = app.getRequestHandler();
  await app.prepare();

  server.on('request', (req, res) => {
    void handle(req, res);
  });

  // -------------------------------------------------------------- 4. upgrades
  const nextUpgrade = dev ? app.getUpgradeHandler() : null;
  server.on('upgrade', (req, socket, head) => {
    if (nextUpgrade && req.url?.startsWith('/_next/')) {
      void nextUpgrade(req, socket, head);
      return;
    }
    if (new URL(req.url ?? '/', 'http://x').pathname === CONSOLE_PATH) {
      consoleProxy.handleUpgrade(req, socket, head);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });

  server.on('error', async (err: NodeJS.ErrnoException) => {
    console.error(
      err.code === 'EADDRINUSE'
        ? `\n[cirrus] Port ${port} is already in use. Stop what uses it or set PORT to another port.\n`
        : `[cirrus] server error: ${err.message}`,
    );
    await runtime.shutdown();
    process.exit(4);
  });

  server.listen(port, hostname, () => {
    const url = process.env.NEXTAUTH_URL ?? `http://localhost:${port}`;
    const lines = [
      '',
      `  Cirrus is serving at ${url}${dev ? ' (development mode)' : ''}`,
      `  Database: ${runtime.embedded ? `embedded PostgreSQL in ${runtime.dataDir}/pg` : 'DATABASE_URL'}`,
      `  Data directory: ${runtime.dataDir}`,
    ];
    if (runtime.seeded) {
      const { admin, demo } = runtime.seeded;
      lines.push(
        '',
        '  First start — these credentials are shown once (also saved to credentials.txt in the data directory):',
        `    admin  ${admin.email}  password: ${admin.password}`,
        `    demo   ${demo.email}  password: ${demo.password}  (tenant "${demo.tenantSlug}")`,
      );
    } else {
      lines.push(`  Sign-in credentials from the first start: ${path.join(runtime.dataDir, 'credentials.txt')}`);
    }
    console.log(lines.join('\n') + '\n');
  });
}

/** A compute node: its guests, jobs and node channel, and no web; stopped by SIGINT/SIGTERM like the rest. */
function serveNode(runtime: Runtime, compute: Compute) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[cirrus] node shutting down…');
    await compute.stop().catch((err) => console.error('[cirrus] stopping compute:', err));
    await runtime.shutdown();
    console.log('[cirrus] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  console.log(`\n  Cirrus compute node ${compute.hostName} (host ${compute.hostId})\n  Node channel: ${compute.nodeAddress}\n  Data directory: ${runtime.dataDir}\n`);
}

main().catch((err) => {
  console.error('[cirrus] failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
