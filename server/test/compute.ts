import crypto from 'node:crypto';
import { Logger, runOnce } from 'graphile-worker';
import { HEARTBEAT_EVERY_MS, heartbeat, registerHost } from '../hosts';
import type { Db } from '../db/client';
import { images, tenantQuotas } from '../db/schema';
import { FakeHypervisor, type HypervisorDriver } from '../hypervisor';
import { runInstanceOp } from '../instances/ops';
import { imageOpTask, instanceOpTask, volumeOpTask, type ImageOpPayload, type InstanceOpPayload, type VolumeOpPayload } from '../jobs';
import { runImageOp } from '../images/ops';
import { MemoryPool } from '../hypervisor/fake/pool';
import type { FakeSharedPool } from '../hypervisor/fake/driver';
import { runVolumeOp } from '../storage/ops';
import { ensureHostPool, GiB, type PoolOpener } from '../storage/pools';
import type { QuotaLimits } from '../settings';

export const TEST_IMAGE = 'cirrus-tiny-linux';

/** A host (backed by the in-memory driver) and the default image, registered in `db`. */
export async function setUpCompute(
  db: Db,
  /** `bridged`: the host builds tenant networks (its NICs are on them: shaped, forwarded, their rates billed). */
  /** `poolGiB`: the capacity of its storage pool (in memory). */
  /** `sharedPool`: a shared pool it reaches (the same object for every host that does); `node`: it registers as a compute node (with a node address), as HA watches. */
  host: { cpus?: number; memoryMiB?: number; diskGiB?: number; bridged?: boolean; poolGiB?: number; sharedPool?: FakeSharedPool; node?: boolean } = {},
  /** More images the driver can boot (their rows are the caller's to insert). */
  moreImages: Record<string, { minMemoryMiB: number; minDiskGiB: number }> = {},
) {
  const driver = new FakeHypervisor({ transitionMs: 1, images: { [TEST_IMAGE]: { minMemoryMiB: 96, minDiskGiB: 1 }, ...moreImages }, sharedPool: host.sharedPool });
  const hostId = crypto.randomUUID();
  await registerHost(db, {
    id: hostId,
    name: `test-${hostId.slice(0, 8)}`,
    driver: 'fake',
    info: { cpus: host.cpus ?? 64, memoryMiB: host.memoryMiB ?? 1_000_000, freeDiskGiB: host.diskGiB ?? 100_000, acceleration: 'tcg', hypervisor: 'fake', isolation: null },
    network: host.bridged ? { mode: 'bridged', note: null } : { mode: 'user', note: 'The test host builds no tenant networks.' },
    sharedPool: host.sharedPool?.id ?? null,
    ...(host.node ? { nodeAddress: `127.0.0.1:${10_000 + crypto.randomInt(50_000)}` } : {}),
  });
  // Like a real server, keep the host's heartbeat fresh while the test file runs (until the test silences it).
  const beat = setInterval(() => void heartbeat(db, hostId).catch(() => undefined), HEARTBEAT_EVERY_MS).unref();
  await db
    .insert(images)
    .values({ id: TEST_IMAGE, name: 'Cirrus Tiny Linux', minMemoryMiB: 96, minDiskGiB: 1 })
    .onConflictDoNothing();
  // Its storage pool keeps volumes' sizes in memory; what the driver exports into it counts as there.
  const pool = new MemoryPool(`/pools/${hostId}`, (host.poolGiB ?? 100_000) * GiB, (p) => driver.exported(p)?.virtualSizeBytes ?? null);
  const poolRow = await ensureHostPool(db, { id: hostId, name: `test-${hostId.slice(0, 8)}` }, pool);
  poolsOf.set(hostId, (row) => {
    if (row.id !== poolRow.id) throw new Error(`pool ${row.id} is not this test host's`);
    return pool;
  });
  return { driver, hostId, pool, poolId: poolRow.id, silence: () => clearInterval(beat) };
}

const poolsOf = new Map<string, PoolOpener>();

const silent = new Logger(() => () => undefined);

/** Run every queued job for this host through the real worker code, until none is left. */
export async function drainJobs(db: Db, connectionString: string, hostId: string, driver: HypervisorDriver): Promise<void> {
  const pools = poolsOf.get(hostId);
  await runOnce({
    connectionString,
    logger: silent,
    taskList: {
      [instanceOpTask(hostId)]: async (payload, helpers) => {
        await runInstanceOp({ db, driver, pools }, payload as InstanceOpPayload, { attempts: helpers.job.attempts, maxAttempts: helpers.job.max_attempts });
      },
      [imageOpTask(hostId)]: async (payload, helpers) => {
        await runImageOp({ db, driver }, payload as ImageOpPayload, { attempts: helpers.job.attempts, maxAttempts: helpers.job.max_attempts });
      },
      [volumeOpTask(hostId)]: async (payload, helpers) => {
        if (!pools) throw new Error(`host ${hostId} was not set up by setUpCompute`);
        await runVolumeOp({ db, driver, pools }, payload as VolumeOpPayload, { attempts: helpers.job.attempts, maxAttempts: helpers.job.max_attempts });
      },
    },
  });
}

export async function setQuota(db: Db, tenantId: string, limits: Partial<QuotaLimits>) {
  const full: QuotaLimits = {
    instances: 100,
    vcpus: 1000,
    memoryMiB: 1_000_000,
    diskGiB: 100_000,
    nics: 1000,
    networks: 100,
    bandwidthMbit: 1_000_000,
    portForwards: 1000,
    savedStateMiB: 1_000_000,
    snapshots: 1000,
    snapshotGiB: 100_000,
    volumes: 1000,
    volumeGiB: 100_000,
    ...limits,
  };
  await db.insert(tenantQuotas).values({ tenantId, ...full }).onConflictDoUpdate({ target: tenantQuotas.tenantId, set: full });
}

export const tiny = { name: 'vm', imageId: TEST_IMAGE, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1 };
