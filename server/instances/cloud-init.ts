// What cloud-init is told about an instance: its host name (its name as a
// DNS label, the same name the network's DNS answers for),
// the key it was launched with, its user data and its addresses. The driver
// turns this into a NoCloud seed for images that run cloud-init.
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { instances, networkInterfaces } from '../db/schema';
import type { CloudInitSpec } from '../hypervisor';
import { dnsLabel } from '../hypervisor/net/spec';

type CloudInitSource = Pick<typeof instances.$inferSelect, 'id' | 'name' | 'sshPublicKey' | 'userData'>;

export async function cloudInitFor(db: DbOrTx, inst: CloudInitSource): Promise<CloudInitSpec> {
  const nics = await db
    .select({ address: networkInterfaces.address })
    .from(networkInterfaces)
    .where(and(eq(networkInterfaces.instanceId, inst.id), isNull(networkInterfaces.releasedAt)))
    .orderBy(asc(networkInterfaces.position));
  return {
    hostname: dnsLabel(inst.name, inst.id),
    sshKeys: inst.sshPublicKey ? [inst.sshPublicKey] : [],
    userData: inst.userData,
    addresses: nics.map((n) => (n.address ? n.address.replace(/\/32$/, '') : null)),
  };
}
