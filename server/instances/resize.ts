// Changing an instance's size. The request is checked and admitted in one
// transaction under the tenant's quota lock and the row lock (state, image,
// quota and the host's room for what it grows by); the row takes the new
// size at once, so quotas count it while the driver works, and the instance
// is `resizing` until the job is done. The ledger follows when the driver
// has granted it: each size is billed from the moment it is in force.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { recordAudit, systemActor, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import { resizeUsage } from '../billing/ledger';
import type { Db, DbOrTx } from '../db/client';
import { hosts, images, instances, networkInterfaces } from '../db/schema';
import { DomainError } from '../errors';
import { reserveOnHost } from '../hosts';
import type { GuestSpec, HypervisorDriver } from '../hypervisor';
import { enqueueInstanceOp, enqueueNetworkSync } from '../jobs';
import type { NetworkAgent } from '../network/agent';
import { guestNics } from '../network/host-spec';
import { allocateInterfaces, removeInterfacesFrom } from '../network/interfaces';
import { DEFAULT_RATE_MBIT } from '../network/validation';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { resizeWhyNot, type Size } from './can';
import { getInstance, type Instance } from './queries';
import { transition } from './transition';
import type { ResizeInput } from './validation';

const cirrus = systemActor('worker');
const sizeText = (s: Size) => `${s.vcpus} vCPU, ${s.memoryMiB} MiB, ${s.diskGiB} GiB`;

export async function requestResize(db: DbOrTx, actor: Actor, tenantId: string, input: ResizeInput): Promise<Instance> {
  return db.transaction(async (tx) => {
    const limits = await lockTenantQuota(tx, tenantId);
    await tx.execute(sql`select 1 from instances where id = ${input.instanceId} and tenant_id = ${tenantId} for update`);
    const inst = await getInstance(tx, tenantId, input.instanceId);
    const [image] = await tx.select().from(images).where(eq(images.id, inst.imageId));
    if (!image) throw new Error(`image ${inst.imageId} of ${inst.id} is gone`);
    const to: Size = { vcpus: input.vcpus ?? inst.vcpus, memoryMiB: input.memoryMiB ?? inst.memoryMiB, diskGiB: input.diskGiB ?? inst.diskGiB };
    const room = { maxVcpus: input.maxVcpus ?? inst.maxVcpus, maxMemoryMiB: input.maxMemoryMiB ?? inst.maxMemoryMiB };
    const roomChanges = room.maxVcpus !== inst.maxVcpus || room.maxMemoryMiB !== inst.maxMemoryMiB;
    const nicsTo = input.nics ?? inst.nics;
    const refuse = (message: string, field?: string) => {
      throw new DomainError('INVALID_STATE', `${inst.name} (${inst.id}): ${message}`, field);
    };
    if (roomChanges && inst.state === 'running') refuse('The room to grow into while it runs is set while it is stopped.', 'maxVcpus');
    if (roomChanges && !image.features.hotplug) refuse(`${image.name} does not bring hot-added vCPUs and memory online, so it has no room to grow into while it runs.`, 'maxVcpus');
    if (nicsTo !== inst.nics && inst.state !== 'stopped') refuse('Network interfaces are added or taken away while it is stopped.', 'nics');
    const why = resizeWhyNot(inst, to, image.features.hotplug);
    if (why && !((roomChanges || nicsTo !== inst.nics) && why === 'That is the size it has.')) refuse(why);
    if (to.memoryMiB < image.minMemoryMiB) throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minMemoryMiB} MiB of memory.`, 'memoryMiB');
    if (to.vcpus < image.minVcpus) throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minVcpus} vCPUs.`, 'vcpus');
    if (room.maxVcpus !== null && room.maxVcpus < to.vcpus) throw new DomainError('INVALID_INPUT', 'The most vCPUs it can grow to is at least the vCPUs it has.', 'maxVcpus');
    if (room.maxMemoryMiB !== null && room.maxMemoryMiB < to.memoryMiB) throw new DomainError('INVALID_INPUT', 'The most memory it can grow to is at least the memory it has.', 'maxMemoryMiB');

    // What it grows by passes the quota and the host's room, exactly as a launch of that much would.
    const more = { vcpus: Math.max(0, to.vcpus - inst.vcpus), memoryMiB: Math.max(0, to.memoryMiB - inst.memoryMiB), diskGiB: Math.max(0, to.diskGiB - inst.diskGiB) };
    // New NICs join the network of its first NIC, at the default rate.
    const addNics = Math.max(0, nicsTo - inst.nics);
    const [first] = addNics
      ? await tx
          .select({ networkId: networkInterfaces.networkId })
          .from(networkInterfaces)
          .where(and(eq(networkInterfaces.instanceId, inst.id), isNull(networkInterfaces.releasedAt)))
          .orderBy(asc(networkInterfaces.position))
          .limit(1)
      : [];
    if (more.vcpus || more.memoryMiB || more.diskGiB || addNics) {
      await assertWithinBudget(tx, tenantId);
      checkQuota(limits, await tenantUsage(tx, tenantId), { ...more, nics: addNics, bandwidthMbit: addNics * DEFAULT_RATE_MBIT }, 'this resize');
      if (more.vcpus || more.memoryMiB || more.diskGiB) {
        await reserveOnHost(tx, inst.hostId!, more, { doing: `grow it to ${sizeText(to)}`, otherwise: 'Try a smaller size, or again later.' });
      }
    }
    if (addNics) {
      const [host] = await tx.select({ networkMode: hosts.networkMode }).from(hosts).where(eq(hosts.id, inst.hostId!));
      const requests = Array.from({ length: addNics }, () => (first ? { networkId: first.networkId } : {}));
      await allocateInterfaces(tx, inst, requests, host?.networkMode ?? 'user', inst.nics);
    } else if (nicsTo < inst.nics) {
      await removeInterfacesFrom(tx, inst.id, nicsTo);
      await enqueueNetworkSync(tx, inst.hostId!);
    }
    const was = { vcpus: inst.vcpus, memoryMiB: inst.memoryMiB, diskGiB: inst.diskGiB, nics: inst.nics };
    await tx
      .update(instances)
      .set({ ...to, nics: nicsTo, maxVcpus: room.maxVcpus, maxMemoryMiB: room.maxMemoryMiB, resize: { back: inst.state as 'running' | 'stopped', was } })
      .where(eq(instances.id, inst.id));
    await transition(tx, actor, inst.id, {
      from: [inst.state],
      to: 'resizing',
      action: 'resize',
      message: `Resize from ${sizeText(was)} to ${sizeText(to)} requested${inst.state === 'running' ? ' (added while it runs)' : ''}.`,
      // It goes on being billed as it was (running, at its old size) until the new size is granted.
      meter: false,
    });
    await recordAudit(tx, actor, { action: 'instance.resize', tenantId, target: { type: 'instance', id: inst.id }, detail: { was, to, nics: nicsTo, ...room } });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'resize' });
    return getInstance(tx, tenantId, inst.id);
  });
}

type Row = typeof instances.$inferSelect;

/** Record the size the driver says the guest has, bill it from now, and go back to where it was. */
async function settle(db: Db, inst: Row, spec: Pick<GuestSpec, 'vcpus' | 'memoryMiB' | 'diskGiB'> & { nics?: unknown[] }, t: { action: string; message?: string; reason?: string }) {
  const back = inst.resize!.back;
  const nics = spec.nics?.length ?? inst.nics;
  await db.transaction(async (tx) => {
    await tx.update(instances).set({ vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, diskGiB: spec.diskGiB, nics, resize: null }).where(eq(instances.id, inst.id));
    // Compute is metered while it runs; its disk while it exists.
    if (back === 'running') {
      await resizeUsage(tx, inst, 'vcpu', spec.vcpus);
      await resizeUsage(tx, inst, 'memory_mib', spec.memoryMiB);
    }
    await resizeUsage(tx, inst, 'disk_gib', spec.diskGiB);
    await resizeUsage(tx, inst, 'nic', nics);
    await transition(tx, cirrus, inst.id, { from: ['resizing'], to: back, meter: false, ...t });
  });
}

/** The job: have the driver grant the size the row asks for (idempotent: the size it has is no change). */
export async function runResize(deps: { db: Db; driver: HypervisorDriver; network?: NetworkAgent }, inst: Row, lastAttempt: boolean): Promise<void> {
  if (inst.state !== 'resizing' || !inst.resize) return;
  const { db, driver, network } = deps;
  const stopped = inst.resize.back === 'stopped';
  try {
    const spec = await driver.resize(inst.id, {
      vcpus: inst.vcpus,
      memoryMiB: inst.memoryMiB,
      diskGiB: inst.diskGiB,
      // The room and the NICs are the machine's: they change only while it is stopped.
      ...(stopped
        ? {
            maxVcpus: inst.maxVcpus ?? inst.vcpus,
            maxMemoryMiB: inst.maxMemoryMiB ?? inst.memoryMiB,
            nics: await guestNics(db, inst.id, inst.nics, network ? network.tag : undefined),
          }
        : {}),
    });
    const nicsText = spec.nics.length !== (inst.resize.was.nics ?? inst.nics) ? ` and ${spec.nics.length} network interface${spec.nics.length === 1 ? '' : 's'}` : '';
    await settle(db, inst, spec, { action: 'resized', message: `It has ${sizeText(spec)}${nicsText} now${stopped ? '' : ', added while it runs'}.` });
  } catch (err) {
    if (!lastAttempt) throw err;
    // It keeps what the driver did grant (a hot-add can stop half-way), and says why the rest is not there.
    const was = inst.resize.was;
    const now = await driver.resize(inst.id, {}).catch(() => ({ ...was, nics: undefined }));
    const reason = `Resizing failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
    await settle(db, inst, now, { action: 'resize-failed', reason });
  }
}
