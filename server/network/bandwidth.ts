// A NIC's rate: changed on a stopped or running instance within the tenant's
// bandwidth quota; the host's tc follows (a sync is enqueued), and a running
// instance's metered rate splits at this moment, in this transaction. A
// user-mode NIC has no tap to shape: its rate cannot change (nor is it billed).
import { and, eq, isNull } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { resizeUsage } from '../billing/ledger';
import type { DbOrTx } from '../db/client';
import { instances, networkInterfaces } from '../db/schema';
import { DomainError } from '../errors';
import { enqueueNetworkSync } from '../jobs';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { networkCan } from './can';
import { meteredNetworkColumns } from './interfaces';
import { hostNote, lockLiveInstance } from './port-forwards';

export async function setInterfaceRate(
  db: DbOrTx,
  actor: Actor,
  tenantId: string,
  input: { instanceId: string; interfaceId: string; rateMbit: number },
) {
  return db.transaction(async (tx) => {
    const limits = await lockTenantQuota(tx, tenantId);
    const inst = await lockLiveInstance(tx, tenantId, input.instanceId);
    const [nic] = await tx
      .select({ id: networkInterfaces.id, position: networkInterfaces.position, rateMbit: networkInterfaces.rateMbit, mode: networkInterfaces.mode })
      .from(networkInterfaces)
      .where(and(eq(networkInterfaces.id, input.interfaceId), eq(networkInterfaces.instanceId, inst.id), isNull(networkInterfaces.releasedAt)));
    if (!nic) throw new DomainError('NOT_FOUND', `${inst.name} has no such network interface.`);
    const cannot = networkCan.useNic(nic, 'Rates', inst.name);
    if (cannot) throw new DomainError('INVALID_STATE', `${cannot} ${await hostNote(tx, inst.hostId)}`.trim(), 'rateMbit');
    if (nic.rateMbit === input.rateMbit) return { ...nic };
    const more = input.rateMbit - nic.rateMbit;
    if (more > 0) checkQuota(limits, await tenantUsage(tx, tenantId), { bandwidthMbit: more }, `raising eth${nic.position} to ${input.rateMbit} Mbit/s`, { bandwidthMbit: 'rateMbit' });
    await tx.update(networkInterfaces).set({ rateMbit: input.rateMbit }).where(eq(networkInterfaces.id, nic.id));
    const [total] = await tx.select(meteredNetworkColumns()).from(instances).where(eq(instances.id, inst.id));
    await resizeUsage(tx, inst, 'bandwidth_mbit', total?.bandwidthMbit ?? 0, inst.state === 'running');
    await enqueueNetworkSync(tx, inst.hostId);
    await recordAudit(tx, actor, {
      action: 'instance.setInterfaceRate',
      tenantId,
      target: { type: 'instance', id: inst.id },
      detail: { interface: `eth${nic.position}`, from: nic.rateMbit, to: input.rateMbit },
    });
    return { ...nic, rateMbit: input.rateMbit };
  });
}
