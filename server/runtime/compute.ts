// Compute on this host: the hypervisor driver, the host's registration, the
// image catalog in the database, the job worker, the reconciler and the guest sampler.
// 1. Identity · 2. Driver and registration · 3. Worker · 4. Reconciler and sampler · 5. Access
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { cpusOf } from '../hypervisor/isolation/cgroups';
import { reachableDir } from './reachable';
import { Logger, run, type Runner } from 'graphile-worker';
import pg from 'pg';
import { clusterKey, NodeChannelServer, parseNodeAddress } from '../cluster/channel';
import { localGuests, nodeHandlers, setClusterContext } from '../cluster/guests';
import { rejoinHost } from '../cluster/ha';
import { migrationTarget, runMigration } from '../cluster/migrate';
import { seedFlavors, syncImages } from '../catalog';
import { namedStatementsWanted, type Db } from '../db/client';
import { HEARTBEAT_EVERY_MS, heartbeat, markHostOffline, registerHost } from '../hosts';
import { FakeHypervisor, ImageCatalog, openHypervisor, type HypervisorDriver } from '../hypervisor';
import { HostNetwork, probeNetworking, type NetworkCapability } from '../hypervisor/net/host-network';
import { hostTag } from '../hypervisor/net/names';
import { runInstanceOp } from '../instances/ops';
import { forwardIfMoved, imageOpTask, instanceOpTask, networkSyncTask, releaseDeadWorkers, volumeOpTask, type ImageOpPayload, type InstanceOpPayload, type VolumeOpPayload } from '../jobs';
import { MemoryPool } from '../hypervisor/fake/pool';
import { openStoragePool, type StoragePoolBackend } from '../hypervisor/storage';
import { runVolumeOp } from '../storage/ops';
import { ensureHostPool, type PoolOpener } from '../storage/pools';
import { runImageOp } from '../images/ops';
import { NetworkAgent } from '../network/agent';
import { Sampler, sampleSeconds } from '../metrics/monitoring';
import { Reconciler } from '../reconciler';
import { readOrCreateSecret } from './secrets';

/** CIRRUS_STATE_SAVE_MIBPS: a positive whole number, or unset (as fast as the disk takes it). */
function saveMiBps(): number | undefined {
  const raw = process.env.CIRRUS_STATE_SAVE_MIBPS;
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CIRRUS_STATE_SAVE_MIBPS must be a whole number of MiB/s (at least 1), not ${JSON.stringify(raw)}`);
  return n;
}

/** CIRRUS_MIGRATE_MIBPS: a positive whole number, or unset (1 GiB/s: the link between hosts is the limit). */
function migrateMiBps(): number | undefined {
  const raw = process.env.CIRRUS_MIGRATE_MIBPS;
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CIRRUS_MIGRATE_MIBPS must be a whole number of MiB/s (at least 1), not ${JSON.stringify(raw)}`);
  return n;
}

/**
 * CIRRUS_SHARED_POOL: a directory every host of the cluster mounts at this same
 * path (NFS, CephFS, a cluster filesystem), where auto-recover instances keep
 * their disks; unset: none.
 */
function sharedPoolDir(): string | null {
  const raw = process.env.CIRRUS_SHARED_POOL?.trim();
  if (!raw) return null;
  if (!path.isAbsolute(raw)) throw new Error(`CIRRUS_SHARED_POOL must be an absolute path (the same on every host), not ${JSON.stringify(raw)}`);
  return path.resolve(raw);
}

/** CIRRUS_GUEST_CPUS: the host CPUs guests run on (the others stay the host's), checked against this host's. */
function guestCpus(): string | null {
  const raw = process.env.CIRRUS_GUEST_CPUS?.trim();
  if (!raw) return null;
  let cpus: number[];
  try {
    cpus = cpusOf(raw);
  } catch {
    throw new Error(`CIRRUS_GUEST_CPUS must be a CPU list like "1" or "2-7", not ${JSON.stringify(raw)}`);
  }
  const have = os.cpus().length;
  if (cpus.some((c) => c >= have)) throw new Error(`CIRRUS_GUEST_CPUS names CPU ${cpus.at(-1)}, but this host has CPUs 0-${have - 1}`);
  return raw;
}

/**
 * Where this host's node channel listens, and where other servers reach it:
 * CIRRUS_NODE_ADDRESS (host:port, an address of this node), else loopback on
 * a port the kernel picks (one machine: no other server needs it).
 */
export function nodeListenAddress(): { host: string; port: number } {
  const raw = process.env.CIRRUS_NODE_ADDRESS?.trim();
  if (!raw) return { host: '127.0.0.1', port: 0 };
  try {
    return parseNodeAddress(raw);
  } catch {
    throw new Error(`CIRRUS_NODE_ADDRESS must be host:port (an address of this node and a port), not ${JSON.stringify(raw)}`);
  }
}

/** CIRRUS_HOST_NAME: the host's name for admins (node-1, rack2-b…); else the machine's name and the host id's start. */
function hostNameFor(hostId: string): string {
  const raw = process.env.CIRRUS_HOST_NAME?.trim();
  if (!raw) return `${os.hostname()}-${hostId.slice(0, 8)}`;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(raw)) throw new Error(`CIRRUS_HOST_NAME must be lower-case letters, digits and dashes (at most 63), not ${JSON.stringify(raw)}`);
  return raw;
}

export type Compute = {
  driver: HypervisorDriver;
  hostId: string;
  hostName: string;
  /** Where this host's node channel listens (host:port). */
  nodeAddress: string;
  network: NetworkAgent;
  /** Stop background work; the driver stays usable until `stop`. Safe to call twice. */
  stop: () => Promise<void>;
};

/** The image catalog: CIRRUS_IMAGES_DIR, else `<data>/images` where guests' users can reach it (reachable.ts). */
export function imagesDir(dataDir: string): string {
  return process.env.CIRRUS_IMAGES_DIR ? path.resolve(process.env.CIRRUS_IMAGES_DIR) : reachableDir(dataDir, 'images', { mode: 0o755 });
}

export async function startCompute(opts: { db: Db; databaseUrl: string; dataDir: string; log: (m: string) => void }): Promise<Compute> {
  const { db, dataDir, log } = opts;
  // 1. This data directory is one host; its id survives restarts.
  const hostId = readOrCreateSecret(dataDir, 'host-id', () => crypto.randomUUID());
  const hostName = hostNameFor(hostId);
  // Checked before anything starts: a bad CIRRUS_SAMPLE_SECONDS or node address stops the server here, not half-way.
  const sampleEvery = sampleSeconds();
  const listenOn = nodeListenAddress();
  const key = clusterKey(dataDir);
  const sharedDir = sharedPoolDir();

  // 2. The driver re-adopts guests that kept running while we were down.
  const catalogDir = imagesDir(dataDir);
  const driver: HypervisorDriver =
    process.env.CIRRUS_HYPERVISOR === 'fake'
      ? new FakeHypervisor({ images: { 'cirrus-tiny-linux': { minMemoryMiB: 96, minDiskGiB: 1 } } })
      : await openHypervisor({
          // Guests run as users of their own: what their QEMU opens must be reachable by them (reachable.ts).
          guestsDir: reachableDir(dataDir, 'guests', { mode: 0o711, log }),
          imagesDir: catalogDir,
          capturedImagesDir: reachableDir(dataDir, 'captured-images', { mode: 0o711, log }),
          dataDir,
          saveMiBps: saveMiBps(),
          migrateMiBps: migrateMiBps(),
          guestCpus: guestCpus(),
          // Hosts of a cluster on one machine (npm run cluster): each its own parent group.
          cgroupParent: process.env.CIRRUS_CGROUP_PARENT || undefined,
          sharedPool: sharedDir ? { dir: sharedDir, hostId } : undefined,
        });
  const info = await driver.hostInfo();
  // Tenant networks need bridges, namespaces and nftables; without them NICs fall back to user-mode.
  const tag = hostTag(hostId);
  let capability: NetworkCapability =
    process.env.CIRRUS_HYPERVISOR === 'fake'
      ? { mode: 'user', reason: 'the in-memory hypervisor runs no guests to wire' }
      : process.env.CIRRUS_NETWORK === 'user'
        ? { mode: 'user', reason: 'CIRRUS_NETWORK=user is set' }
        : await probeNetworking();
  let hostNetwork: HostNetwork | null = null;
  if (capability.mode === 'bridged') {
    hostNetwork = new HostNetwork({ hostId, tag, log });
    const other = hostNetwork.claimTag();
    if (other) {
      capability = { mode: 'user', reason: `another Cirrus host on this machine (${other}) has the same network tag ${tag}` };
      hostNetwork = null;
    }
  }
  const networkNote = capability.mode === 'user' ? `NICs use QEMU user-mode networking: ${capability.reason}.` : null;
  // The node channel: other servers (a control plane) reach this host's guests' consoles through it, never their sockets.
  const local = localGuests(driver);
  // Moves to this host: their taps made and joined to this host's networks (the agent made below) before they run here.
  const channel = new NodeChannelServer(key, nodeHandlers(hostId, local, log, migrationTarget(db, hostId, driver, { tag: hostNetwork?.tag ?? null, sync: () => network.sync() })));
  let nodeAddress: string;
  try {
    const bound = await channel.listen(listenOn.host, listenOn.port);
    nodeAddress = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  } catch (err) {
    await driver.close();
    throw new Error(`the node channel cannot listen on ${listenOn.host}:${listenOn.port}: ${err instanceof Error ? err.message : err}`);
  }
  const pool = driver.sharedPool?.() ?? null;
  await registerHost(db, { id: hostId, name: hostName, driver: driver.name, info, network: { mode: capability.mode, note: networkNote }, nodeAddress, sharedPool: pool?.id ?? null });
  // Declared down while this server was away: back now, with what is still on it (server/cluster/ha.ts).
  const back = await rejoinHost(db, hostId);
  if (back !== null) log(`[compute] this host had been declared down; it is back (${back} instance(s) still on it came back as they were)`);
  if (pool) log(`[compute] shared pool ${pool.id} at ${pool.dir}`);
  setClusterContext({ hostId, local, key });
  const network = new NetworkAgent({ db, hostId, driver, hostNetwork, log });
  // Volumes: this host's default pool, a directory of qcow2 files in the data dir (in memory with the fake driver).
  const fake = driver instanceof FakeHypervisor ? driver : null;
  const defaultPool: StoragePoolBackend = fake
    ? new MemoryPool(path.join(dataDir, 'volumes'), 1024 ** 4, (p) => fake.exported(p)?.virtualSizeBytes ?? null)
    : openStoragePool({ kind: 'directory', path: reachableDir(dataDir, 'volumes', { mode: 0o711, log }) });
  const poolRow = await ensureHostPool(db, { id: hostId, name: hostName }, defaultPool);
  const pools: PoolOpener = (row) => {
    if (row.hostId !== hostId) throw new Error(`storage pool ${row.id} belongs to another host`);
    return row.id === poolRow.id ? defaultPool : openStoragePool({ kind: row.kind, path: row.path });
  };
  const images = new ImageCatalog(catalogDir).list();
  await syncImages(db, images);
  await seedFlavors(db);
  if (images.length === 0) log('[compute] no guest images yet: run `npm run images` to build Cirrus Tiny Linux');
  log(`[compute] host ${hostName}: ${info.cpus} CPUs, ${info.memoryMiB} MiB, ${info.acceleration.toUpperCase()} (${driver.name})`);
  log(`[compute] networks: ${capability.mode === 'bridged' ? `bridged (host tag ${tag})` : `user-mode only — ${capability.reason}`}`);
  if (info.isolation) {
    const iso = info.isolation;
    log(`[compute] isolation: ${iso.user.enforced ? 'a user per guest' : 'guests run as the server'}, ${iso.cgroups.enforced ? `cgroups (${iso.cgroups.controllers.join(', ')})` : 'no cgroup limits'}, QEMU's seccomp filter`);
    for (const m of iso.missing) log(`[compute]   not enforced: ${m}`);
  }

  // 3. Jobs for this host's guests.
  const released = await releaseDeadWorkers(db, hostId);
  if (released) log(`[compute] released jobs held by ${released} worker(s) of an earlier server`);
  // A terminal's Ctrl-C reaches PostgreSQL too (same process group), so once
  // shutdown begins, the worker's complaints about a closing database are noise.
  let stopping = false;
  const pgPool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  pgPool.on('error', () => undefined);
  const runner: Runner = await run({
    pgPool,
    concurrency: 4,
    noHandleSignals: true,
    pollInterval: 1000,
    // Its own named statements too: off behind a transaction-mode pooler (CIRRUS_DB_NAMED_STATEMENTS=off).
    noPreparedStatements: !namedStatementsWanted(),
    logger: new Logger(() => (level, message) => {
      if (!stopping && (level === 'error' || level === 'warning')) log(`[jobs] ${message}`);
    }),
    taskList: {
      [instanceOpTask(hostId)]: async (payload, helpers) => {
        const op = payload as InstanceOpPayload;
        if (op.op === 'migrate') return runMigration({ db, driver, hostId, key, log }, op.instanceId, op.migrationId ?? '');
        // Queued here while its instance moved away: it runs where the instance is now (next in its queue).
        if (await forwardIfMoved(db, hostId, op)) return;
        await runInstanceOp({ db, driver, network, pools }, op, {
          attempts: helpers.job.attempts,
          maxAttempts: helpers.job.max_attempts,
        });
      },
      [imageOpTask(hostId)]: async (payload, helpers) => {
        await runImageOp({ db, driver }, payload as ImageOpPayload, { attempts: helpers.job.attempts, maxAttempts: helpers.job.max_attempts });
      },
      [volumeOpTask(hostId)]: async (payload, helpers) => {
        await runVolumeOp({ db, driver, pools }, payload as VolumeOpPayload, { attempts: helpers.job.attempts, maxAttempts: helpers.job.max_attempts });
      },
      [networkSyncTask(hostId)]: async () => {
        await network.sync();
      },
    },
  });

  // 4. Reconciler: at start (first sweep now), on driver events, and every few seconds.
  const reconciler = new Reconciler({ db, driver, hostId, log });
  reconciler.start();
  // Guest monitoring: this host's running guests, sampled every CIRRUS_SAMPLE_SECONDS.
  const sampler = new Sampler({ db, driver, hostId, everySeconds: sampleEvery, log });
  sampler.start();
  // The host's network: restored now (after a crash or a host restart), then kept in step.
  network.start();
  const beat = setInterval(
    () =>
      void heartbeat(db, hostId)
        .then(async (state) => {
          // Silent long enough to be declared down, and alive after all: it rejoins (a fence, where there is one, would have stopped it).
          if (state !== 'down') return;
          const n = await rejoinHost(db, hostId);
          if (n !== null) log(`[compute] this host was declared down while it could not reach the database; it is back (${n} instance(s) came back as they were)`);
        })
        .catch(() => undefined),
    HEARTBEAT_EVERY_MS,
  );
  beat.unref();

  const compute: Compute = {
    driver,
    hostId,
    hostName,
    nodeAddress,
    network,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      clearInterval(beat);
      await markHostOffline(db, hostId).catch(() => undefined);
      await reconciler.stop();
      await sampler.stop();
      await network.stop();
      await runner.stop();
      await pgPool.end().catch(() => undefined);
      await channel.close();
      setClusterContext(undefined);
      await driver.close();
      g[KEY] = undefined;
    },
  };
  g[KEY] = compute;
  return compute;
}

// 5. Route handlers (bundled by Next) reach the same driver through globalThis.
const KEY = Symbol.for('cirrus.compute');
const g = globalThis as unknown as Record<symbol, Compute | undefined>;

export function getCompute(): Compute | null {
  return g[KEY] ?? null;
}
