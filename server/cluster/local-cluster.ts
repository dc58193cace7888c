// A whole Cirrus cluster on one machine, for tests, benches and trying it out
// (`npm run cluster`): one PostgreSQL, one control plane, and compute nodes
// each in a network namespace of its own, wired by a veth to one bridge, with
// its own data directory and address. Needs root (namespaces, bridges).
//
// 1. Names and addresses · 2. The wires · 3. The database and the key ·
// 4. The processes · 5. Waiting for it · 6. Fencing and tearing down
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';
import { newClusterKey } from './channel';

export type LocalClusterOptions = {
  /** Everything of the cluster lives here (wiped at start): the database, the key, each server's data directory and log. */
  dir: string;
  nodes?: number;
  /** The control plane's HTTP port (on 127.0.0.1). */
  port: number;
  /** Guest images, built once and shared by every node. */
  imagesDir: string;
  /** The first admin's sign-in, for tests (else generated and printed by the control plane). */
  admin?: { email: string; password: string };
  /** More environment for every server (CIRRUS_SAMPLE_SECONDS, …). */
  env?: Record<string, string>;
  log?: (m: string) => void;
  /** Echo the servers' output (prefixed with their names) as well as writing it to their logs. */
  echo?: boolean;
  /** How long a node's heartbeat may stop before the control plane declares it down and fences it (CIRRUS_HOST_DOWN_AFTER; default 30). */
  downAfterSeconds?: number;
  /**
   * Nodes build tenant networks (bridges, routers, DHCP in their namespaces), each
   * network joined across nodes over VXLAN on the cluster's bridge (9000-byte
   * frames, room for VXLAN's 50 bytes of headers). false: user-mode NICs only.
   */
  tenantNetworks?: boolean;
};

export type LocalNode = {
  name: string;
  /** Its network namespace (/run/netns/<ns>). */
  ns: string;
  ip: string;
  /** Its node channel, host:port. */
  channel: string;
  dataDir: string;
  log: string;
  process: ChildProcess | null;
};

export type LocalCluster = {
  url: string;
  /** The database, from this machine's root namespace. */
  databaseUrl: string;
  keyFile: string;
  /** The shared pool every node mounts (CIRRUS_SHARED_POOL): auto-recover instances' guests live there. */
  sharedPool: string;
  /** The fence the control plane runs for a node declared down (CIRRUS_FENCE_COMMAND): kills every process in its namespace. */
  fenceCommand: string;
  control: { dataDir: string; log: string; process: ChildProcess | null };
  nodes: LocalNode[];
  /** Fence a node as a failed host is fenced: every process in its namespace killed at once (its QEMUs too). */
  killNode: (name: string) => Promise<void>;
  /** SIGKILL a node's server only, as a crash of Cirrus on it would: its guests' QEMUs go on. */
  killNodeServer: (name: string) => Promise<void>;
  /** Start a node's server again (after killNode or killNodeServer), on its own data directory. */
  startNode: (name: string) => Promise<void>;
  /** SIGKILL the control plane (its nodes and guests keep running) or start it again. */
  killControl: () => Promise<void>;
  startControl: () => Promise<void>;
  /** Wait until these nodes' hosts heartbeat (all nodes by default). */
  waitForNodes: (names?: string[], timeoutMs?: number) => Promise<void>;
  stop: () => Promise<void>;
};

// ---------------------------------------------------------------- 1. names and addresses

const run = (cmd: string, args: string[], okToFail = false) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !okToFail) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  return r;
};

/** A short tag from the cluster's directory: two clusters (a test and a demo) never share names or a subnet. */
function tagOf(dir: string): { tag: string; octet: number } {
  const h = crypto.createHash('sha256').update(path.resolve(dir)).digest();
  return { tag: h.subarray(0, 2).toString('hex'), octet: 16 + (h[2]! % 224) };
}

/** The third octet of 10.231.x.0/24 that no route of this machine uses yet, starting from the tag's. */
function freeSubnet(start: number, bridge: string): number {
  const routes = run('ip', ['-4', 'route', 'show']).stdout;
  for (let i = 0; i < 224; i++) {
    const octet = 16 + ((start - 16 + i) % 224);
    const prefix = `10.231.${octet}.`;
    // Our own bridge from a run that died is taken down below; any other user of the prefix is not ours.
    const used = routes.split('\n').some((l) => l.startsWith(prefix) && !l.includes(` dev ${bridge} `));
    if (!used) return octet;
  }
  throw new Error('no free /24 in 10.231.0.0/16 for the cluster network');
}

// ---------------------------------------------------------------- 2. the wires

/**
 * A node runs in its own network namespace but must keep the machine's
 * cgroup hierarchies (its guests' limits): `ip netns exec` mounts a fresh
 * /sys for the namespace and so hides /sys/fs/cgroup. This keeps them: a new
 * mount namespace (slave of the machine's), the cgroup tree bound aside, the
 * namespace's sysfs mounted, the tree moved back. The script is fixed; its
 * only argument (the place the tree waits) is passed as $1, never spliced in.
 */
const ENTER_NODE = 'set -e; mkdir -p "$1"; mount --rbind /sys/fs/cgroup "$1"; mount -t sysfs sysfs /sys; mount --move "$1" /sys/fs/cgroup; rmdir "$1"; shift; exec "$@"';
export const inNode = (ns: string, argv: string[]) => ['nsenter', [`--net=/run/netns/${ns}`, 'unshare', '--mount', '--propagation', 'slave', 'sh', '-c', ENTER_NODE, 'sh', `/run/cirrus-enter-${ns}`, ...argv]] as const;

function netnsPids(ns: string): number[] {
  const r = run('ip', ['netns', 'pids', ns], true);
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

async function killNamespace(ns: string) {
  for (let i = 0; i < 50; i++) {
    const pids = netnsPids(ns).filter((p) => p !== process.pid);
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- the cluster

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? ((m: string) => console.log(m));
  if (process.getuid?.() !== 0) throw new Error('a local cluster needs root: network namespaces, a bridge and veths (run as root)');
  for (const tool of ['nsenter', 'unshare', 'ip']) {
    if (run('sh', ['-c', 'command -v "$1"', 'sh', tool], true).status !== 0) throw new Error(`${tool} is missing (apt-get install -y util-linux iproute2)`);
  }
  const dir = path.resolve(opts.dir);
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error('a local cluster has 1 to 9 nodes');
  const { tag, octet: start } = tagOf(dir);
  const bridge = `crcl${tag}`;
  const nsName = (i: number) => `crcl${tag}-n${i}`;

  // What a run on this directory left behind (a killed test) goes first.
  await teardownWires(bridge, Array.from({ length: 9 }, (_, i) => nsName(i + 1)), dir);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });

  const octet = freeSubnet(start, bridge);
  const gateway = `10.231.${octet}.1`;
  // Jumbo frames on the underlay: a guest's 1500-byte frame and VXLAN's headers go through whole.
  const mtu = opts.tenantNetworks ? '9000' : '1500';
  run('ip', ['link', 'add', bridge, 'mtu', mtu, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  run('ip', ['link', 'set', bridge, 'up']);
  const nodes: LocalNode[] = [];
  for (let i = 1; i <= count; i++) {
    const ns = nsName(i);
    const ip = `10.231.${octet}.${10 + i}`;
    const hostSide = `crcl${tag}v${i}`;
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', hostSide, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', mtu, 'netns', ns]);
    run('ip', ['link', 'set', hostSide, 'master', bridge, 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway]);
    const dataDir = path.join(dir, `node-${i}`);
    nodes.push({ name: `node-${i}`, ns, ip, channel: `${ip}:7700`, dataDir, log: path.join(dir, `node-${i}.log`), process: null });
  }

  // ---------------------------------------------------------------- 3. the database and the key
  let db: EmbeddedDatabase | null = null;
  try {
    db = await startEmbeddedPostgres(path.join(dir, 'db'), { log, quiet: true, network: { address: gateway, allow: `10.231.${octet}.0/24` } });
    const keyFile = path.join(dir, 'cluster-key');
    fs.writeFileSync(keyFile, `${newClusterKey()}\n`, { mode: 0o600 });
    // One directory for every node: on one machine it is shared storage as an NFS mount would be on many.
    const sharedPool = path.join(dir, 'shared-pool');
    fs.mkdirSync(sharedPool, { mode: 0o711 });
    const fenceCommand = writeFenceScript(dir, tag);

    // ---------------------------------------------------------------- 4. the processes
    const common: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: process.env.HOME ?? '/root',
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      CIRRUS_CLUSTER_KEY_FILE: keyFile,
      CIRRUS_IMAGES_DIR: path.resolve(opts.imagesDir),
      // Tenant networks on the nodes, joined over VXLAN; or user-mode NICs only.
      ...(opts.tenantNetworks ? {} : { CIRRUS_NETWORK: 'user' }),
      ...opts.env,
    };
    const cwd = path.resolve(import.meta.dirname, '../..');
    const spawnServer = (name: string, logFile: string, cmd: string, args: readonly string[], env: Record<string, string>) => {
      const out = fs.openSync(logFile, 'a');
      const child: ChildProcess = spawn(cmd, [...args], { cwd, env: { ...common, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', opts.echo ? 'pipe' : out, opts.echo ? 'pipe' : out] });
      if (opts.echo) {
        for (const stream of [child.stdout!, child.stderr!]) {
          stream.on('data', (d: Buffer) => {
            fs.appendFileSync(logFile, d);
            for (const line of d.toString().split('\n')) if (line.trim()) log(`[${name}] ${line}`);
          });
        }
      }
      child.on('exit', () => fs.closeSync(out));
      return child;
    };
    const server = [process.execPath, '--import', 'tsx', 'server.ts'];

    const control = { dataDir: path.join(dir, 'control'), log: path.join(dir, 'control.log'), process: null as ChildProcess | null };
    const startControl = async () => {
      control.process = spawnServer('control', control.log, server[0]!, server.slice(1), {
        CIRRUS_ROLE: 'control',
        PORT: String(opts.port),
        HOST: '127.0.0.1',
        DATABASE_URL: db!.url,
        CIRRUS_DATA_DIR: control.dataDir,
        // High availability: a node silent this long is declared down and fenced by the script (its namespace killed).
        CIRRUS_HOST_DOWN_AFTER: String(opts.downAfterSeconds ?? 30),
        CIRRUS_FENCE_COMMAND: fenceCommand,
        ...(opts.admin ? { CIRRUS_ADMIN_EMAIL: opts.admin.email, CIRRUS_ADMIN_PASSWORD: opts.admin.password } : {}),
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${opts.port}/api/health`).catch(() => null))?.ok === true, 180_000, () => `the control plane did not become healthy (see ${control.log})`, control.process);
    };
    const startNode = async (name: string) => {
      const node = nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name}`);
      const [cmd, args] = inNode(node.ns, server);
      node.process = spawnServer(node.name, node.log, cmd, args, {
        CIRRUS_ROLE: 'compute',
        CIRRUS_DATA_DIR: node.dataDir,
        CIRRUS_NODE_ADDRESS: node.channel,
        CIRRUS_HOST_NAME: node.name,
        // Its guests' cgroups apart from the other nodes' (on their own machines they would be anyway): one instance on two nodes mid-move.
        CIRRUS_CGROUP_PARENT: `cirrus-guests-${node.name}`,
        CIRRUS_SHARED_POOL: sharedPool,
        DATABASE_URL: db!.networkUrl!,
      });
    };

    // ---------------------------------------------------------------- 5. waiting for it
    const waitForNodes = async (names = nodes.map((n) => n.name), timeoutMs = 120_000) => {
      const client = new pg.Client({ connectionString: db!.url });
      await client.connect();
      try {
        await waitFor(
          async () => {
            const { rows } = await client.query<{ name: string }>(
              `select name from hosts where heartbeat_at > now() - interval '20 seconds' and state = 'enabled' and node_address is not null and name = any($1)`,
              [names],
            );
            return rows.length === names.length;
          },
          timeoutMs,
          () => `nodes ${names.join(', ')} did not all register (see their logs in ${dir})`,
        );
      } finally {
        await client.end();
      }
    };

    // ---------------------------------------------------------------- 6. fencing and tearing down
    const killNode = async (name: string) => {
      const node = nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name}`);
      await killNamespace(node.ns);
      node.process = null;
    };
    const killNodeServer = async (name: string) => {
      const node = nodes.find((n) => n.name === name);
      if (!node?.process) throw new Error(`node ${name} runs no server`);
      // nsenter, unshare and sh each exec the next: this pid is the node's server.
      const p = node.process;
      p.kill('SIGKILL');
      await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)));
      node.process = null;
    };
    const killControl = async () => {
      control.process?.kill('SIGKILL');
      await new Promise((r) => (control.process?.exitCode !== null ? r(null) : control.process.once('exit', r)));
      control.process = null;
    };

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      const ending = [control.process, ...nodes.map((n) => n.process)].filter((p): p is ChildProcess => !!p && p.exitCode === null && p.signalCode === null);
      for (const p of ending) p.kill('SIGTERM');
      await Promise.race([Promise.all(ending.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r))))), new Promise((r) => setTimeout(r, 30_000))]);
      for (const p of ending) if (p.exitCode === null) p.kill('SIGKILL');
      await teardownWires(bridge, nodes.map((n) => n.ns), dir);
      await db?.stop();
    };

    nodes.forEach((n) => void startNode(n.name));
    await startControl();
    await waitForNodes();
    return {
      url: `http://127.0.0.1:${opts.port}`,
      databaseUrl: db.url,
      keyFile,
      sharedPool,
      fenceCommand,
      control,
      nodes,
      killNode,
      killNodeServer,
      startNode,
      killControl,
      startControl,
      waitForNodes,
      stop,
    };
  } catch (err) {
    for (const n of nodes) await killNamespace(n.ns);
    await teardownWires(bridge, nodes.map((n) => n.ns), dir);
    await db?.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The cluster's fence: `fence-node <name> <host id> <node address>` kills every
 * process in that node's network namespace (its server and its QEMUs), as a
 * power switch would end a real host, and exits 0 once none is left. The
 * namespace's name comes from the node's, checked to be one of this cluster's.
 */
function writeFenceScript(dir: string, tag: string): string {
  const file = path.join(dir, 'fence-node');
  const script = `#!/bin/sh
# Fence a node of the local cluster in ${dir}: every process in its network namespace killed.
set -eu
case "\${1:-}" in node-[1-9]) ;; *) echo "not a node of this cluster: \${1:-}" >&2; exit 2 ;; esac
ns="crcl${tag}-n\${1#node-}"
for _ in $(seq 1 100); do
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -z "$pids" ] && exit 0
  kill -9 $pids 2>/dev/null || true
  sleep 0.1
done
echo "processes in $ns are still there after 10 s" >&2
exit 1
`;
  fs.writeFileSync(file, script, { mode: 0o700 });
  return file;
}

async function waitFor(test: () => Promise<boolean>, timeoutMs: number, why: () => string, watch?: ChildProcess | null) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await test().catch(() => false)) return;
    if (watch && watch.exitCode !== null) throw new Error(`${why()}: it exited with ${watch.exitCode}`);
    if (Date.now() > until) throw new Error(why());
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Every process in the nodes' namespaces killed (their QEMUs among them), each
 * node's leftovers (guests' cgroups and users' files, tenant networks' router
 * namespaces) torn down from inside its namespace, then the namespaces, their
 * veths and the bridge removed.
 */
async function teardownWires(bridge: string, namespaces: string[], dir: string) {
  const existing = new Set(run('ip', ['netns', 'list'], true).stdout.split('\n').map((l) => l.split(' ')[0]));
  for (const [i, ns] of namespaces.entries()) {
    if (!existing.has(ns)) continue;
    await killNamespace(ns);
    const dataDir = path.join(dir, `node-${i + 1}`);
    if (fs.existsSync(dataDir)) {
      const [cmd, args] = inNode(ns, [process.execPath, '--import', 'tsx', 'scripts/teardown-host.ts', dataDir]);
      spawnSync(cmd, [...args], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: 'ignore' });
    }
    run('ip', ['netns', 'del', ns], true);
  }
  run('ip', ['link', 'del', bridge], true);
}
