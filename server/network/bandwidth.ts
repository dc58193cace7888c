// A NIC's rate: changed on a stopped or running instance within the tenant's
// bandwidth quota; the host's tc follows (a sync is enqueued), and a running
// instance's metered rate splits at this moment, in this transaction.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { resizeUsage } from '../billing/ledger';
import type { DbOrTx } from '../db/client';
import { networkInterfaces } from '../db/schema';
import { DomainError } from '../errors';
import { enqueueNetworkSync } from '../jobs';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { lockLiveInstance } from './port-forwards';

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
    if (nic.rateMbit === input.rateMbit) return { ...nic };
    const more = input.rateMbit - nic.rateMbit;
    if (more > 0) checkQuota(limits, await tenantUsage(tx, tenantId), { bandwidthMbit: more }, `raising eth${nic.position} to ${input.rateMbit} Mbit/s`, { bandwidthMbit: 'rateMbit' });
    await tx.update(networkInterfaces).set({ rateMbit: input.rateMbit }).where(eq(networkInterfaces.id, nic.id));
    const [total] = await tx
      .select({ sum: sql<number>`coalesce(sum(${networkInterfaces.rateMbit}), 0)::int` })
      .from(networkInterfaces)
      .where(and(eq(networkInterfaces.instanceId, inst.id), isNull(networkInterfaces.releasedAt)));
    await resizeUsage(tx, inst, 'bandwidth_mbit', total?.sum ?? 0, inst.state === 'running');
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
