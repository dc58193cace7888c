// A tenant's own images, captured from one of its instances (its disk now or
// one of its snapshots, flattened): private to that tenant until an admin
// publishes it to every tenant, shown in the launch form, billed as storage
// by the bytes its files take, from when it is made until its deletion is
// accepted. The capture runs as a job in the source instance's own queue (so
// it never overlaps that instance's start, stop, snapshots or terminate);
// deletion in the image's, refused while any instance's disk is on it.
//
// 1. Who sees what · 2. Requests (create, delete, publish) · 3. The ledger.
import crypto from 'node:crypto';
import { and, asc, desc, eq, isNull, ne, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { prebuilt } from '../db/named';
import { images, instances, usageSegments } from '../db/schema';
import { DomainError } from '../errors';
import { lockCopySource } from '../instances/copy-source';
import { recordInstanceEvent } from '../instances/transition';
import { enqueueImageOp, enqueueInstanceOp } from '../jobs';
import type { CreateImageInput } from './validation';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** EC2-style image id: `ami-` and 17 lower-case hex digits (also its catalog id on the host). */
export const newImageId = () => `ami-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`;

// ---------------------------------------------------------------- 1. who sees what

/** Built images are everyone's; a captured one is its owner's, and everyone's once published. */
export const visibleTo = (tenantId: string | Placeholder): SQL => or(eq(images.captured, false), eq(images.ownerTenantId, tenantId), eq(images.published, true))!;

/** What a tenant (and an admin) sees of an image. */
export const imageColumns = {
  id: images.id,
  name: images.name,
  description: images.description,
  minVcpus: images.minVcpus,
  minMemoryMiB: images.minMemoryMiB,
  minDiskGiB: images.minDiskGiB,
  osFamily: images.osFamily,
  osVersion: images.osVersion,
  loginUser: images.loginUser,
  architecture: images.architecture,
  features: images.features,
  captured: images.captured,
  published: images.published,
  ownerTenantId: images.ownerTenantId,
};

/** The images a tenant may launch: enabled, available and visible to it — built ones first, then by name. */
export async function listLaunchableImages(db: DbOrTx, tenantId: string) {
  return db
    .select(imageColumns)
    .from(images)
    .where(and(eq(images.enabled, true), eq(images.state, 'available'), visibleTo(tenantId)))
    .orderBy(asc(images.captured), asc(images.name), asc(images.id));
}

/** The tenant's own captured images in every state but deleted, newest first (bounded by what it pays to keep). */
export async function listOwnImages(db: DbOrTx, tenantId: string) {
  return db
    .select({
      ...imageColumns,
      enabled: images.enabled,
      state: images.state,
      stateReason: images.stateReason,
      progress: images.progress,
      sizeBytes: images.sizeBytes,
      sourceInstanceId: images.sourceInstanceId,
      sourceSnapshotId: images.sourceSnapshotId,
      createdAt: images.createdAt,
    })
    .from(images)
    .where(and(eq(images.ownerTenantId, tenantId), ne(images.state, 'deleted')))
    .orderBy(desc(images.createdAt), desc(images.id))
    .limit(500);
}

/** The image a launch uses, locked for share (its deletion waits for the launch, then sees the instance). */
export async function imageForLaunch(db: DbOrTx, tenantId: string, imageId: string) {
  const [image] = await imageForLaunchQuery(db, { tenantId, imageId });
  return image ?? null;
}

const imageForLaunchQuery = prebuilt('image-for-launch', (db) =>
  db
    .select()
    .from(images)
    .where(and(eq(images.id, sql.placeholder('imageId')), eq(images.enabled, true), eq(images.state, 'available'), visibleTo(sql.placeholder('tenantId'))))
    .for('share'),
);

// ---------------------------------------------------------------- 2. requests

/** Make an image of an instance (its disk now, or a snapshot of it): checked and queued in one transaction. */
export async function requestImage(db: DbOrTx, actor: Actor, tenantId: string, input: CreateImageInput) {
  return db.transaction(async (tx) => {
    const { src: inst, snap } = await lockCopySource(tx, tenantId, 'capture', input.instanceId, input.snapshotId);
    const [base] = await tx.select().from(images).where(eq(images.id, inst.imageId));
    if (!base) throw new Error(`image ${inst.imageId} of ${inst.id} is gone`);

    const id = newImageId();
    await tx.insert(images).values({
      id,
      name: input.name,
      description: input.description ?? `From ${inst.name}${snap ? `, snapshot “${snap.name}”` : ''} (${base.name}).`,
      // It boots as its source's image did, on a disk no smaller than the one it was taken from.
      minMemoryMiB: base.minMemoryMiB,
      minDiskGiB: inst.diskGiB,
      minVcpus: base.minVcpus,
      virtualSizeBytes: inst.diskGiB * GiB,
      osFamily: base.osFamily,
      osVersion: base.osVersion,
      loginUser: base.loginUser,
      architecture: base.architecture,
      features: base.features,
      captured: true,
      ownerTenantId: tenantId,
      state: 'creating',
      sourceInstanceId: inst.id,
      sourceSnapshotId: snap?.id ?? null,
      hostId: inst.hostId,
      createdBy: actor.kind === 'user' ? actor.userId : null,
    });
    await recordInstanceEvent(tx, actor, { instanceId: inst.id, tenantId, action: 'image', message: `Image “${input.name}” (${id}) requested${snap ? ` from snapshot “${snap.name}”` : ''}.` });
    await recordAudit(tx, actor, { action: 'image.create', tenantId, target: { type: 'image', id }, detail: { instanceId: inst.id, snapshotId: snap?.id ?? null } });
    await enqueueInstanceOp(tx, inst.hostId, { instanceId: inst.id, op: 'image-create', imageId: id });
    const [row] = (await listOwnImages(tx, tenantId)).filter((i) => i.id === id);
    return row!;
  });
}

/** The tenant's own image, locked for update. */
async function lockedOwnImage(tx: DbOrTx, tenantId: string, imageId: string) {
  const [image] = await tx
    .select()
    .from(images)
    .where(and(eq(images.id, imageId), eq(images.ownerTenantId, tenantId), ne(images.state, 'deleted')))
    .for('update');
  if (!image) throw new DomainError('NOT_FOUND', `Image ${imageId} was not found.`);
  return image;
}

/**
 * Delete one of the tenant's images (available, or one whose capture failed):
 * refused while any instance's disk is on it; its billing ends now.
 */
export async function requestDeleteImage(db: DbOrTx, actor: Actor, tenantId: string, imageId: string) {
  return db.transaction(async (tx) => {
    const image = await lockedOwnImage(tx, tenantId, imageId);
    if (image.state !== 'available' && image.state !== 'error') {
      throw new DomainError('INVALID_STATE', `Image “${image.name}” is ${image.state}: wait until it is available.`);
    }
    const users = await tx
      .select({ id: instances.id, name: instances.name, tenantId: instances.tenantId })
      .from(instances)
      .where(and(eq(instances.imageId, image.id), ne(instances.state, 'terminated')))
      .orderBy(asc(instances.name))
      .limit(6);
    if (users.length) {
      const own = users.filter((u) => u.tenantId === tenantId).map((u) => `${u.name} (${u.id})`);
      const others = users.length - own.length;
      const named = [...own.slice(0, 3), ...(others ? [`${others === 6 ? 'several' : others} of other tenants`] : [])].join(', ');
      throw new DomainError('INVALID_STATE', `Image “${image.name}” is the disk of instances that are not terminated: ${named}. Terminate them first.`);
    }
    await tx.update(images).set({ state: 'deleting', stateReason: null, enabled: false }).where(eq(images.id, image.id));
    await closeImageUsage(tx, image.id);
    await recordAudit(tx, actor, { action: 'image.delete', tenantId, target: { type: 'image', id: image.id }, detail: {} });
    if (image.hostId) await enqueueImageOp(tx, image.hostId, { imageId: image.id, op: 'image-delete' });
    else await tx.update(images).set({ state: 'deleted', deletedAt: sql`now()` }).where(eq(images.id, image.id));
    return { id: image.id };
  });
}

/** An admin makes a tenant's available image everyone's (or takes that back: instances launched from it keep running). */
export async function setImagePublished(db: DbOrTx, actor: Actor, input: { imageId: string; published: boolean }) {
  return db.transaction(async (tx) => {
    const [image] = await tx.select().from(images).where(eq(images.id, input.imageId)).for('update');
    if (!image || !image.captured || image.state === 'deleted') throw new DomainError('NOT_FOUND', `Image ${input.imageId} is not a tenant's image.`);
    if (input.published && image.state !== 'available') throw new DomainError('INVALID_STATE', `Image “${image.name}” is ${image.state}: only an available one is published.`);
    await tx.update(images).set({ published: input.published }).where(eq(images.id, image.id));
    await recordAudit(tx, actor, { action: input.published ? 'image.publish' : 'image.unpublish', tenantId: image.ownerTenantId, target: { type: 'image', id: image.id }, detail: {} });
    return { id: image.id, published: input.published };
  });
}

// ---------------------------------------------------------------- 3. the ledger

/** From now on, bill the owner for `bytes` of image files (in the caller's transaction). */
export async function openImageUsage(db: DbOrTx, image: { id: string; ownerTenantId: string | null }, bytes: number): Promise<void> {
  if (!image.ownerTenantId) return;
  await db
    .insert(usageSegments)
    .values({ tenantId: image.ownerTenantId, imageId: image.id, resource: 'image_mib', quantity: Math.max(1, Math.ceil(bytes / MiB)), startedAt: sql`now()` })
    .onConflictDoNothing(); // already open (a retried job): keep the first start
}

export async function closeImageUsage(db: DbOrTx, imageId: string): Promise<void> {
  await db.update(usageSegments).set({ endedAt: sql`now()` }).where(and(eq(usageSegments.imageId, imageId), isNull(usageSegments.endedAt)));
}
