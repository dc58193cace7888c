// What a clone or an image is made from: an instance of the tenant, and
// optionally one of its available snapshots, checked under the instance's row
// lock (and the snapshot's, shared: a delete of it waits, then sees the copy).
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { snapshots } from '../db/schema';
import { DomainError } from '../errors';
import { copyWhyNot } from './can';
import { getInstance, type Instance } from './queries';

const wording = { clone: 'cloned', capture: 'made into an image' } as const;

export async function lockCopySource(
  tx: Tx,
  tenantId: string,
  action: 'clone' | 'capture',
  instanceId: string,
  snapshotId: string | null | undefined,
): Promise<{ src: Instance & { hostId: string }; snap: { id: string; name: string } | null }> {
  await tx.execute(sql`select 1 from instances where id = ${instanceId} and tenant_id = ${tenantId} for update`);
  const src = await getInstance(tx, tenantId, instanceId);
  let snap: { id: string; name: string } | null = null;
  if (snapshotId) {
    const [row] = await tx
      .select({ id: snapshots.id, name: snapshots.name, state: snapshots.state })
      .from(snapshots)
      .where(and(eq(snapshots.tenantId, tenantId), eq(snapshots.instanceId, src.id), eq(snapshots.id, snapshotId)))
      .for('share');
    if (!row) throw new DomainError('NOT_FOUND', `${src.name} has no snapshot ${snapshotId}.`, 'snapshotId');
    if (row.state !== 'available') throw new DomainError('INVALID_STATE', `Snapshot “${row.name}” is ${row.state}: only an available one can be ${wording[action]}.`, 'snapshotId');
    snap = { id: row.id, name: row.name };
  }
  const why = copyWhyNot(action, src.state, snap !== null);
  if (why) throw new DomainError('INVALID_STATE', `${src.name} (${src.id}): ${why}`);
  const hostId = src.hostId;
  if (!hostId) throw new DomainError('INVALID_STATE', `${src.name} (${src.id}) has no host yet, so it has no disk to copy.`);
  return { src: { ...src, hostId }, snap };
}
