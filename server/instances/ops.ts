// What the job worker does for each instance operation. Every op is
// idempotent: it reads the state now, asks the driver what is true, does only
// what is missing, and moves the state with a compare-and-set — so a retry, a
// duplicate or a restart after kill -9 converges instead of doubling.
import { and, eq, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { instances, snapshots } from '../db/schema';
import { isHypervisorError, type HypervisorDriver } from '../hypervisor';
import type { InstanceOpPayload } from '../jobs';
import { throttledProgress } from '../jobs/progress';
import type { NetworkAgent } from '../network/agent';
import { guestNics } from '../network/host-spec';
import type { InstanceState } from './can';
import { runImageCreate } from '../images/ops';
import { runSnapshotOp } from '../snapshots/ops';
import { releaseVolumes, runVolumeInstanceOp } from '../storage/ops';
import type { PoolOpener } from '../storage/pools';
import { cloudInitFor } from './cloud-init';
import { runResize } from './resize';
import { transition, type Transition } from './transition';

/**
 * `network`: the host's network agent (absent in tests of code above the
 * network: NICs are user-mode); `pools`: opens this host's storage pools
 * (absent where no volume op runs).
 */
export type OpDeps = { db: Db; driver: HypervisorDriver; network?: NetworkAgent; pools?: PoolOpener };
export type Attempt = { attempts: number; maxAttempts: number };

const cirrus = systemActor('worker');
const MiB = 1024 * 1024;

/** Writes a long operation's progress onto the instance while it is still in `state`. */
const progressWriter = (db: Db, id: string, state: InstanceState) =>
  throttledProgress((progress) => db.update(instances).set({ progress }).where(and(eq(instances.id, id), eq(instances.state, state))));

/** A state change and its event, committed together. */
const move = (db: Db, id: string, t: Transition) => db.transaction((tx) => transition(tx, cirrus, id, t));

async function guestState(driver: HypervisorDriver, id: string) {
  try {
    return (await driver.status(id)).state;
  } catch (err) {
    if (isHypervisorError(err, 'NOT_FOUND')) return 'absent' as const;
    throw err;
  }
}

/**
 * Take over an instance's guest from the shared pool when it is not on this
 * host yet: the job runs here because the database put the instance here, which
 * for a guest on the pool means its last host was declared down and fenced.
 */
async function adoptIfRecovered({ db, driver, network }: OpDeps, inst: { id: string; nics: number }): Promise<void> {
  if (!driver.adoptShared || !driver.hasSharedGuest) return;
  if ((await guestState(driver, inst.id)) !== 'absent') return;
  if (!(await driver.hasSharedGuest(inst.id))) return;
  // Its NICs as this host wires them: their taps are named after the host.
  await driver.adoptShared(inst.id, { nics: await guestNics(db, inst.id, inst.nics, network ? network.tag : undefined) });
}

export async function runInstanceOp(deps: OpDeps, payload: InstanceOpPayload, attempt: Attempt): Promise<void> {
  const { db, driver, network } = deps;
  const [inst] = await db.select().from(instances).where(eq(instances.id, payload.instanceId));
  if (!inst) return; // gone (tenant deleted): nothing to do
  try {
    // Recovered here from a down host (server/cluster/ha.ts): its guest on the shared pool is this host's from now on.
    if (inst.autoRecover && payload.op !== 'migrate') await adoptIfRecovered(deps, inst);
    switch (payload.op) {
      case 'adopt':
        return;
      case 'start': {
        await move(db, inst.id, { from: ['pending'], to: 'starting', action: 'provision', message: 'Creating the guest.' });
        const [now] = await db.select({ state: instances.state }).from(instances).where(eq(instances.id, inst.id));
        if (now?.state !== 'starting') return; // superseded (stopped or terminated meanwhile)
        let state = await guestState(driver, inst.id);
        if (state === 'absent') {
          const nics = await guestNics(db, inst.id, inst.nics, network ? network.tag : undefined);
          const cloudInit = await cloudInitFor(db, inst);
          const room = { ...(inst.maxVcpus ? { maxVcpus: inst.maxVcpus } : {}), ...(inst.maxMemoryMiB ? { maxMemoryMiB: inst.maxMemoryMiB } : {}) };
          const spec = { id: inst.id, vcpus: inst.vcpus, memoryMiB: inst.memoryMiB, diskGiB: inst.diskGiB, nics, image: inst.imageId, cloudInit, ...room };
          if (inst.cloneOfInstanceId && !inst.launchedAt) {
            // Its disk is made from its source's (snapshot ids are the driver's snapshot names).
            const opts = { snapshot: inst.cloneOfSnapshotId, linked: inst.cloneLinked ?? true };
            await driver.clone(inst.cloneOfInstanceId, spec, opts, opts.linked ? undefined : progressWriter(db, inst.id, 'starting'));
            if (!opts.linked) await db.update(instances).set({ progress: null }).where(eq(instances.id, inst.id)); // copied: it boots now
          } else {
            // An auto-recover instance keeps everything on the shared pool, where another host can take it over.
            await driver.create(spec, inst.autoRecover ? { shared: true } : undefined);
          }
          state = 'stopped';
        }
        // The network (bridge, router, DHCP reservation) is there before the guest
        // asks for its address, and its taps join it as soon as QEMU made them. A
        // network that cannot be applied now does not keep the guest from running:
        // the agent says why and its sweep converges.
        await network?.sync().catch(() => undefined);
        if (state === 'stopped') await driver.start(inst.id);
        if (state === 'paused') await driver.resume(inst.id);
        await network?.sync().catch(() => undefined);
        await move(db, inst.id, {
          from: ['starting'],
          to: 'running',
          action: 'started',
          message: 'The guest is running.',
          extra: { launchedAt: sql`coalesce(${instances.launchedAt}, now())` },
        });
        return;
      }
      case 'stop':
      case 'force-stop': {
        if (inst.state !== 'stopping') return;
        const state = await guestState(driver, inst.id);
        if (state !== 'absent' && state !== 'stopped') {
          if (payload.op === 'force-stop') await driver.forceStop(inst.id);
          else await driver.stop(inst.id);
        }
        // A suspended instance that is stopped gives up its saved state: it boots from its disk next time.
        const discarded = state !== 'absent' && (await driver.savedState(inst.id)) !== null;
        if (discarded) await driver.discardSavedState(inst.id);
        await move(db, inst.id, {
          from: ['stopping'],
          to: 'stopped',
          action: 'stopped',
          message: discarded ? 'Its saved state was discarded.' : payload.op === 'force-stop' ? 'The guest was powered off.' : 'The guest shut down.',
          extra: { savedStateMiB: null },
        });
        return;
      }
      case 'suspend': {
        if (inst.state !== 'suspending') return;
        const state = await guestState(driver, inst.id);
        const saved =
          state === 'running' || state === 'paused'
            ? await driver.saveState(inst.id, progressWriter(db, inst.id, 'suspending'))
            : state === 'absent'
              ? null
              : await driver.savedState(inst.id);
        if (!saved) {
          await move(db, inst.id, {
            from: ['suspending'],
            to: 'stopped',
            action: 'stopped',
            reason: 'The guest stopped before its state was saved; it boots from its disk next time.',
          });
          return;
        }
        const mib = Math.ceil(saved.bytes / MiB);
        await move(db, inst.id, {
          from: ['suspending'],
          to: 'suspended',
          action: 'suspended',
          message: `Its running state (${mib} MiB) is saved to disk; its vCPUs and memory are released.`,
          extra: { savedStateMiB: mib },
        });
        await network?.sync().catch(() => undefined);
        return;
      }
      case 'resume': {
        if (inst.state !== 'resuming') return;
        const state = await guestState(driver, inst.id);
        const up = state === 'running' || state === 'paused';
        if (!up && (state === 'absent' || !(await driver.savedState(inst.id)))) {
          await move(db, inst.id, {
            from: ['resuming'],
            to: 'stopped',
            action: 'stopped',
            reason: 'Its saved state is gone; it boots from its disk next time.',
            extra: { savedStateMiB: null },
          });
          return;
        }
        // Its taps join their bridges as soon as QEMU makes them: the network is there first.
        if (!up) await network?.sync().catch(() => undefined);
        await driver.restoreState(inst.id, progressWriter(db, inst.id, 'resuming'));
        await network?.sync().catch(() => undefined);
        await move(db, inst.id, {
          from: ['resuming'],
          to: 'running',
          action: 'resumed',
          message: 'The guest goes on from where it was suspended.',
          extra: { savedStateMiB: null },
        });
        return;
      }
      case 'reboot': {
        if (inst.state !== 'running') return;
        await driver.reboot(inst.id);
        return;
      }
      case 'snapshot-create':
      case 'snapshot-restore':
      case 'snapshot-delete':
        await runSnapshotOp(deps, inst, payload, attempt.attempts >= attempt.maxAttempts);
        return;
      case 'image-create':
        await runImageCreate(deps, inst, payload, attempt.attempts >= attempt.maxAttempts);
        return;
      case 'resize':
        await runResize(deps, inst, attempt.attempts >= attempt.maxAttempts);
        return;
      case 'volume-attach':
      case 'volume-detach':
      case 'volume-create': {
        if (!deps.pools) throw new Error('this worker opens no storage pools');
        await runVolumeInstanceOp({ db, driver, pools: deps.pools }, inst, payload, attempt.attempts >= attempt.maxAttempts);
        return;
      }
      case 'migrate':
        throw new Error('a migrate op is run by its node (server/cluster/migrate.ts), not here');
      case 'terminate': {
        if (inst.state !== 'terminating') return;
        await driver.destroy(inst.id);
        // Its snapshots were files of its own: gone with it (their usage closed when terminate was accepted).
        await db.delete(snapshots).where(eq(snapshots.instanceId, inst.id));
        // Its volumes outlive it: unplugged with the guest, their data kept.
        await releaseVolumes(db, inst.id);
        await move(db, inst.id, { from: ['terminating'], to: 'terminated', action: 'terminated', message: 'The guest and its disk are gone.' });
        return;
      }
    }
  } catch (err) {
    // A volume op says why on its volume; the instance itself is unharmed.
    if (payload.op.startsWith('volume-')) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (attempt.attempts >= attempt.maxAttempts && (payload.op === 'suspend' || payload.op === 'resume')) {
      // Nothing is lost: a suspend that failed leaves the guest running, a resume that failed keeps its state file.
      const back = payload.op === 'suspend' ? { from: 'suspending', to: 'running' } : { from: 'resuming', to: 'suspended' };
      await move(db, inst.id, {
        from: [back.from as InstanceState],
        to: back.to as InstanceState,
        action: `${payload.op}-failed`,
        reason: `${payload.op === 'suspend' ? 'Suspending' : 'Resuming'} failed after ${attempt.attempts} attempts: ${message}`.slice(0, 500),
      });
      return;
    }
    if (attempt.attempts >= attempt.maxAttempts) {
      // Last try: say why in the instance itself, where the tenant looks.
      await move(db, inst.id, {
        from: ['pending', 'starting', 'stopping', 'terminating', 'running'],
        to: 'error',
        action: `${payload.op}-failed`,
        reason: `${payload.op} failed after ${attempt.attempts} attempts: ${message}`.slice(0, 500),
      });
      return;
    }
    throw err;
  }
}
