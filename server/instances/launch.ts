import { and, eq } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import { meterTransition } from '../billing/ledger';
import type { DbOrTx } from '../db/client';
import { images, instances } from '../db/schema';
import { DomainError } from '../errors';
import { placeInstance } from '../hosts';
import { enqueueInstanceOp } from '../jobs';
import { getKeyPairForLaunch } from '../keys/key-pairs';
import { allocateInterfaces } from '../network/interfaces';
import { DEFAULT_RATE_MBIT, type LaunchInterface } from '../network/validation';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { newInstanceId } from './ids';
import { instanceColumns, type Instance } from './queries';
import { recordInstanceEvent } from './transition';
import type { LaunchInput } from './validation';

/**
 * Launch: one transaction that checks the image, takes the tenant's quota
 * lock, checks usage + request against every limit, places the instance on a
 * host with room (host rows locked too), inserts it as `pending` with its NICs
 * and their addresses, records the event and the audit entry, and enqueues
 * the start job. Any refusal rolls all
 * of it back; no burst of concurrent launches can pass a limit.
 */
export async function launchInstance(db: DbOrTx, actor: Actor, tenantId: string, input: LaunchInput): Promise<Instance> {
  return db.transaction(async (tx) => {
    const [image] = await tx.select().from(images).where(and(eq(images.id, input.imageId), eq(images.enabled, true)));
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
    if (!image.features.cloudInit) {
      const field = input.keyPairId ? 'keyPairId' : input.userData ? 'userData' : null;
      if (field) throw new DomainError('INVALID_INPUT', `${image.name} does not run cloud-init, so it cannot take a key pair or user data. Choose an image that does, or leave them out.`, field);
    }
    // Copied, not referenced: deleting the key pair later changes nothing for this instance.
    const key = input.keyPairId ? await getKeyPairForLaunch(tx, tenantId, input.keyPairId) : null;

    await assertWithinBudget(tx, tenantId);
    const interfaces: LaunchInterface[] = input.interfaces ?? Array.from({ length: input.nics }, () => ({}));
    const bandwidthMbit = interfaces.reduce((sum, i) => sum + (i.rateMbit ?? DEFAULT_RATE_MBIT), 0);
    const request = { instances: 1, vcpus: input.vcpus, memoryMiB: input.memoryMiB, diskGiB: input.diskGiB, nics: input.nics, bandwidthMbit };
    const limits = await lockTenantQuota(tx, tenantId);
    checkQuota(limits, await tenantUsage(tx, tenantId), request);
    const host = await placeInstance(tx, request);

    const [row] = await tx
      .insert(instances)
      .values({
        id: newInstanceId(),
        tenantId,
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
        hostId: host.id,
        state: 'pending',
        createdBy: actor.kind === 'user' ? actor.userId : null,
      })
      .returning(instanceColumns);
    if (!row) throw new Error('instance insert returned nothing');
    const nics = await allocateInterfaces(tx, row, interfaces, host.networkMode);
    await meterTransition(tx, { ...row, bandwidthMbit, portForwards: 0, savedStateMiB: null }, null, 'pending');
    await recordInstanceEvent(tx, actor, { instanceId: row.id, tenantId, action: 'launch', to: 'pending', message: `Launch requested on ${host.name}.` });
    await recordAudit(tx, actor, {
      action: 'instance.launch',
      tenantId,
      target: { type: 'instance', id: row.id },
      detail: { ...request, imageId: image.id, host: host.name, keyName: key?.name ?? null, userDataBytes: input.userData ? Buffer.byteLength(input.userData) : 0, interfaces: nics.map((n) => ({ networkId: n.networkId, address: n.address, rateMbit: n.rateMbit })) },
    });
    await enqueueInstanceOp(tx, host.id, { instanceId: row.id, op: 'start' });
    return { ...row, hostName: host.name };
  });
}
