// What the job worker does for each instance operation. Every op is
// idempotent: it reads the state now, asks the driver what is true, does only
// what is missing, and moves the state with a compare-and-set — so a retry, a
// duplicate or a restart after kill -9 converges instead of doubling.
import { eq, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { instances } from '../db/schema';
import { isHypervisorError, type HypervisorDriver } from '../hypervisor';
import type { InstanceOpPayload } from '../jobs';
import type { NetworkAgent } from '../network/agent';
import { guestNics } from '../network/host-spec';
import { cloudInitFor } from './cloud-init';
import { transition, type Transition } from './transition';

/** `network`: the host's network agent (absent in tests of code above the network: NICs are user-mode). */
export type OpDeps = { db: Db; driver: HypervisorDriver; network?: NetworkAgent };
export type Attempt = { attempts: number; maxAttempts: number };

const cirrus = systemActor('worker');

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

export async function runInstanceOp(deps: OpDeps, payload: InstanceOpPayload, attempt: Attempt): Promise<void> {
  const { db, driver, network } = deps;
  const [inst] = await db.select().from(instances).where(eq(instances.id, payload.instanceId));
  if (!inst) return; // gone (tenant deleted): nothing to do
  try {
    switch (payload.op) {
      case 'start': {
        await move(db, inst.id, { from: ['pending'], to: 'starting', action: 'provision', message: 'Creating the guest.' });
        const [now] = await db.select({ state: instances.state }).from(instances).where(eq(instances.id, inst.id));
        if (now?.state !== 'starting') return; // superseded (stopped or terminated meanwhile)
        let state = await guestState(driver, inst.id);
        if (state === 'absent') {
          const nics = await guestNics(db, inst.id, inst.nics, network ? network.tag : undefined);
          const cloudInit = await cloudInitFor(db, inst);
          await driver.create({ id: inst.id, vcpus: inst.vcpus, memoryMiB: inst.memoryMiB, diskGiB: inst.diskGiB, nics, image: inst.imageId, cloudInit });
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
        await move(db, inst.id, {
          from: ['stopping'],
          to: 'stopped',
          action: 'stopped',
          message: payload.op === 'force-stop' ? 'The guest was powered off.' : 'The guest shut down.',
        });
        return;
      }
      case 'reboot': {
        if (inst.state !== 'running') return;
        await driver.reboot(inst.id);
        return;
      }
      case 'terminate': {
        if (inst.state !== 'terminating') return;
        await driver.destroy(inst.id);
        await move(db, inst.id, { from: ['terminating'], to: 'terminated', action: 'terminated', message: 'The guest and its disk are gone.' });
        return;
      }
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
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
