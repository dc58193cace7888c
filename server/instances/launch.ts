import { recordAudit, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import { meterTransition } from '../billing/ledger';
import type { DbOrTx, Tx } from '../db/client';
import { instances } from '../db/schema';
import { imageForLaunch } from '../images/images';
import { DomainError } from '../errors';
import { chooseHost, claimPlacement, retryPlacement } from '../hosts';
import { enqueueInstanceOp } from '../jobs';
import { getKeyPairForLaunch } from '../keys/key-pairs';
import { allocateInterfaces } from '../network/interfaces';
import { DEFAULT_RATE_MBIT, type LaunchInterface } from '../network/validation';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import type { QuotaLimits } from '../quotas/resources';
import { newInstanceId } from './ids';
import { instanceColumns, type Instance } from './queries';
import { recordInstanceEvent } from './transition';
import type { LaunchInput } from './validation';

/**
 * Launch from an image: the image, its minimums, the key pair and the budget
 * are checked, then the tenant's quota lock is taken and admitInstance does
 * the rest, in one transaction (run again if its placement was lost).
 */
export async function launchInstance(db: DbOrTx, actor: Actor, tenantId: string, input: LaunchInput): Promise<Instance> {
  return retryPlacement(() => db.transaction(async (tx) => {
    const image = await imageForLaunch(tx, tenantId, input.imageId);
    if (!image) throw new DomainError('INVALID_INPUT', 'That image is not available for launches. Choose another.', 'imageId');
    if (input.memoryMiB < image.minMemoryMiB) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minMemoryMiB} MiB of memory.`, 'memoryMiB');
    }
    if (input.diskGiB < image.minDiskGiB) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs a disk of at least ${image.minDiskGiB} GiB.`, 'diskGiB');
    }
    if (input.vcpus < image.minVcpus) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minVcpus} vCPUs.`, 'vcpus');
    }
    if (!image.features.hotplug && (input.maxVcpus !== undefined || input.maxMemoryMiB !== undefined)) {
      throw new DomainError('INVALID_INPUT', `${image.name} does not bring hot-added vCPUs and memory online, so it has no room to grow into while it runs.`, input.maxVcpus !== undefined ? 'maxVcpus' : 'maxMemoryMiB');
    }
    if (!image.features.cloudInit) {
      const field = input.keyPairId ? 'keyPairId' : input.userData ? 'userData' : null;
      if (field) throw new DomainError('INVALID_INPUT', `${image.name} does not run cloud-init, so it cannot take a key pair or user data. Choose an image that does, or leave them out.`, field);
    }
    // Copied, not referenced: deleting the key pair later changes nothing for this instance.
    const key = input.keyPairId ? await getKeyPairForLaunch(tx, tenantId, input.keyPairId) : null;

    const interfaces: LaunchInterface[] = input.interfaces ?? Array.from({ length: input.nics }, () => ({}));
    // Before the quota lock: month-to-date spend is not changed by a launch being admitted.
    await assertWithinBudget(tx, tenantId);
    const limits = await lockTenantQuota(tx, tenantId);
    return admitInstance(tx, actor, tenantId, limits, {
      values: {
        name: input.name,
        imageId: image.id,
        vcpus: input.vcpus,
        memoryMiB: input.memoryMiB,
        diskGiB: input.diskGiB,
        nics: input.nics,
        tags: input.tags ?? {},
        keyName: key?.name ?? null,
        sshPublicKey: key?.publicKey ?? null,
        userData: input.userData ? input.userData : null,
        maxVcpus: input.maxVcpus && input.maxVcpus > input.vcpus ? input.maxVcpus : null,
        maxMemoryMiB: input.maxMemoryMiB && input.maxMemoryMiB > input.memoryMiB ? input.maxMemoryMiB : null,
      },
      interfaces,
      action: 'launch',
      // A tenant's own image is in its host's catalog only.
      onHost: image.captured && image.hostId ? image.hostId : undefined,
      detail: { keyName: key?.name ?? null, userDataBytes: input.userData ? Buffer.byteLength(input.userData) : 0 },
    });
  }));
}

/** What a new instance is made of, whether launched from an image or cloned. */
export type NewInstance = {
  values: Omit<typeof instances.$inferInsert, 'id' | 'tenantId' | 'hostId' | 'state' | 'createdBy'>;
  interfaces: LaunchInterface[];
  action: 'launch' | 'clone';
  /** Only this host will do (a clone is made where its source's files are). */
  onHost?: string;
  /** Said in its first event, after where it goes. */
  message?: string;
  detail: Record<string, unknown>;
};

/**
 * Admit a new instance, in the caller's transaction and under the tenant's
 * quota lock (`limits`, taken first; the budget checked before it): usage +
 * request against every limit, a host with room, the row as `pending` with
 * its NICs and their addresses, its first ledger segments, the event and the
 * audit entry, the start job, and last the host's claim (claimPlacement), so
 * its lock is held only from there to the commit and the launches of other
 * tenants queue on one another for no longer. Any refusal rolls all of it
 * back, so no burst of concurrent launches or clones can pass a limit or a
 * host's capacity. Its caller runs it in retryPlacement.
 */
export async function admitInstance(tx: Tx, actor: Actor, tenantId: string, limits: QuotaLimits, n: NewInstance): Promise<Instance> {
  const bandwidthMbit = n.interfaces.reduce((sum, i) => sum + (i.rateMbit ?? DEFAULT_RATE_MBIT), 0);
  const v = n.values;
  const request = { instances: 1, vcpus: v.vcpus, memoryMiB: v.memoryMiB, diskGiB: v.diskGiB, nics: v.nics, bandwidthMbit };
  checkQuota(limits, await tenantUsage(tx, tenantId), request, `this ${n.action}`);
  const host = await chooseHost(tx, request, n.onHost);

  const [row] = await tx
    .insert(instances)
    .values({ ...v, id: newInstanceId(), tenantId, hostId: host.id, state: 'pending', createdBy: actor.kind === 'user' ? actor.userId : null })
    .returning(instanceColumns);
  if (!row) throw new Error('instance insert returned nothing');
  const nics = await allocateInterfaces(tx, row, n.interfaces, host.networkMode);
  await meterTransition(tx, { ...row, bandwidthMbit, portForwards: 0, savedStateMiB: null }, null, 'pending');
  const verb = n.action === 'launch' ? 'Launch' : 'Clone';
  await recordInstanceEvent(tx, actor, { instanceId: row.id, tenantId, action: n.action, to: 'pending', message: `${verb} requested on ${host.name}.${n.message ? ` ${n.message}` : ''}` });
  await recordAudit(tx, actor, {
    action: `instance.${n.action}`,
    tenantId,
    target: { type: 'instance', id: row.id },
    detail: { ...request, imageId: v.imageId, host: host.name, ...n.detail, interfaces: nics.map((x) => ({ networkId: x.networkId, address: x.address, rateMbit: x.rateMbit })) },
  });
  await enqueueInstanceOp(tx, host.id, { instanceId: row.id, op: 'start' });
  await claimPlacement(tx, host);
  return { ...row, hostName: host.name };
}
