// Clones: a new instance whose disk starts as another's — one of its
// snapshots, or its disk at the moment of the request — linked
// (copy-on-write on the source's frozen file) or full (a copy of its own).
// It is admitted exactly like a launch (quota, budget, capacity, its own NICs
// and addresses) on its source's host, where the files it is made from are;
// the start job makes its disk (driver.clone) before it boots, and a new
// instance id makes cloud-init personalise it again (hostname, keys).
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import type { DbOrTx } from '../db/client';
import { instances, networkInterfaces } from '../db/schema';
import { DomainError } from '../errors';
import { placementTransaction } from '../hosts';
import { lockTenantQuota } from '../quotas';
import { lockCopySource } from './copy-source';
import { admitInstance } from './launch';
import type { Instance } from './queries';
import { recordInstanceEvent } from './transition';
import type { CloneInput } from './validation';

export async function cloneInstance(db: DbOrTx, actor: Actor, tenantId: string, input: CloneInput): Promise<Instance> {
  return placementTransaction(db, async (tx) => {
    // The quota lock before the source's row lock, in the order every request takes them.
    const limits = await lockTenantQuota(tx, tenantId);
    const { src, snap } = await lockCopySource(tx, tenantId, 'clone', input.instanceId, input.snapshotId);
    if (src.autoRecover) {
      throw new DomainError('INVALID_STATE', `${src.name} is auto-recover: its disk is on the shared pool, where a clone built on it would be taken over with it. Capture an image of it and launch from that instead.`, 'instanceId');
    }
    const [source] = await tx.select({ sshPublicKey: instances.sshPublicKey, userData: instances.userData }).from(instances).where(eq(instances.id, src.id));
    if (!source) throw new Error(`instance ${src.id} is gone`);

    // Its NICs on the same networks at the same rates, with addresses (and MACs) of their own.
    const nics = await tx
      .select({ networkId: networkInterfaces.networkId, rateMbit: networkInterfaces.rateMbit })
      .from(networkInterfaces)
      .where(and(eq(networkInterfaces.instanceId, src.id), isNull(networkInterfaces.releasedAt)))
      .orderBy(asc(networkInterfaces.position));
    const from = snap ? `snapshot “${snap.name}” of ${src.name}` : `${src.name} as it is now`;
    await assertWithinBudget(tx, tenantId);
    const clone = await admitInstance(tx, actor, tenantId, limits, {
      values: {
        name: input.name,
        imageId: src.imageId,
        vcpus: src.vcpus,
        memoryMiB: src.memoryMiB,
        diskGiB: src.diskGiB,
        nics: nics.length,
        tags: input.tags ?? src.tags,
        keyName: src.keyName,
        sshPublicKey: source.sshPublicKey,
        userData: source.userData,
        cloneOfInstanceId: src.id,
        cloneOfSnapshotId: snap?.id ?? null,
        cloneLinked: input.linked,
        spreadGroup: null,
        autoRecover: false,
        maxVcpus: src.maxVcpus,
        maxMemoryMiB: src.maxMemoryMiB,
      },
      interfaces: nics,
      action: 'clone',
      onHost: src.hostId,
      message: `A ${input.linked ? 'linked' : 'full'} clone of ${from}.`,
      detail: { source: src.id, snapshotId: snap?.id ?? null, linked: input.linked },
    });
    await recordInstanceEvent(tx, actor, { instanceId: src.id, tenantId, action: 'clone', message: `Cloned into ${clone.name} (${clone.id})${snap ? ` from snapshot “${snap.name}”` : ''}.` });
    return clone;
  });
}

/**
 * A clone of `sourceId` (of its snapshot `snapshotId`, when given) that is
 * not made yet: while there is one, the source is not terminated, suspended
 * or restored, and that snapshot not deleted, so what it is made from stays.
 */
export async function cloneInTheMaking(db: DbOrTx, sourceId: string, snapshotId?: string): Promise<{ id: string; name: string } | null> {
  const [row] = await db
    .select({ id: instances.id, name: instances.name })
    .from(instances)
    .where(
      and(
        eq(instances.cloneOfInstanceId, sourceId),
        inArray(instances.state, ['pending', 'starting']),
        snapshotId ? eq(instances.cloneOfSnapshotId, snapshotId) : undefined,
        // A clone that booted once is made: a later start of it reads nothing of its source.
        sql`${instances.launchedAt} is null`,
      ),
    )
    .limit(1);
  return row ?? null;
}

/** Refuse what would take away what a clone is being made from, naming the clone. */
export async function refuseWhileCloning(db: DbOrTx, source: { id: string; name: string }, what: string, snapshotId?: string): Promise<void> {
  const c = await cloneInTheMaking(db, source.id, snapshotId);
  if (c) throw new DomainError('INVALID_STATE', `${source.name} (${source.id}) is being cloned into ${c.name} (${c.id}): ${what} once that clone is made.`);
}
