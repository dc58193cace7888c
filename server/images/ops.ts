// What the job worker does for a captured image: make it (in its source
// instance's queue) or delete it (in its own). Idempotent like every op: the
// driver's capture is by image id, its delete of a gone image a no-op; a last
// failed attempt says why on the image instead of leaving a half one usable.
import { and, eq, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { images, type instances } from '../db/schema';
import type { HypervisorDriver } from '../hypervisor';
import { recordInstanceEvent } from '../instances/transition';
import type { ImageOpPayload, InstanceOpPayload } from '../jobs';
import { throttledProgress } from '../jobs/progress';
import { openImageUsage } from './images';

const cirrus = systemActor('worker');
type Deps = { db: Db; driver: HypervisorDriver };
type Inst = typeof instances.$inferSelect;
const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 400);

/** Writes the capture's progress onto the image at most twice a second, while it is being made. */
const progressOf = (db: Db, imageId: string) =>
  throttledProgress((progress) => db.update(images).set({ progress }).where(and(eq(images.id, imageId), eq(images.state, 'creating'))));

export async function runImageCreate(deps: Deps, inst: Inst, payload: InstanceOpPayload, lastAttempt: boolean): Promise<void> {
  const { db, driver } = deps;
  if (!payload.imageId) return;
  const [image] = await db.select().from(images).where(eq(images.id, payload.imageId));
  if (!image || image.state !== 'creating') return;
  try {
    const made = await driver.captureImage(inst.id, { snapshot: image.sourceSnapshotId, imageId: image.id, name: image.name }, progressOf(db, image.id));
    await db.transaction(async (tx) => {
      const [moved] = await tx
        .update(images)
        .set({ state: 'available', sizeBytes: made.sizeBytes, virtualSizeBytes: made.virtualSizeBytes, progress: null, builtAt: sql`now()` })
        .where(and(eq(images.id, image.id), eq(images.state, 'creating')))
        .returning({ id: images.id });
      if (!moved) return;
      await openImageUsage(tx, image, made.sizeBytes);
      await recordInstanceEvent(tx, cirrus, { instanceId: inst.id, tenantId: inst.tenantId, action: 'image', message: `Image “${image.name}” (${image.id}) is available.` });
    });
  } catch (err) {
    if (!lastAttempt) throw err;
    await db
      .update(images)
      .set({ state: 'error', progress: null, enabled: false, stateReason: `Making it failed: ${reasonOf(err)}` })
      .where(and(eq(images.id, image.id), eq(images.state, 'creating')));
  }
}

export async function runImageOp(deps: Deps, payload: ImageOpPayload, attempt: { attempts: number; maxAttempts: number }): Promise<void> {
  const { db, driver } = deps;
  const [image] = await db.select().from(images).where(eq(images.id, payload.imageId));
  if (!image || image.state !== 'deleting') return;
  try {
    await driver.deleteImage(image.id);
    await db.update(images).set({ state: 'deleted', deletedAt: sql`now()` }).where(and(eq(images.id, image.id), eq(images.state, 'deleting')));
  } catch (err) {
    if (attempt.attempts < attempt.maxAttempts) throw err;
    // Its files stay (nothing is lost); it is listed again with the reason, and can be deleted again.
    await db
      .update(images)
      .set({ state: 'error', stateReason: `Deleting it failed: ${reasonOf(err)}` })
      .where(and(eq(images.id, image.id), eq(images.state, 'deleting')));
  }
}
