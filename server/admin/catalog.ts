import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx, Tx } from '../db/client';
import { flavors, images, instances, tenants } from '../db/schema';
import { DomainError } from '../errors';
import type { FlavorSpec } from '../instances/validation';
import { outer } from '../db/outer';
import { imageColumns } from '../images/images';

// Images ---------------------------------------------------------------------

/**
 * Every image, enabled or not — built ones, then tenants' captured ones (but
 * deleted ones) with their owner — with its footprint, minimums and how many
 * live instances use it.
 */
export async function listImagesForAdmin(db: DbOrTx) {
  return db
    .select({
      ...imageColumns,
      sizeBytes: images.sizeBytes,
      virtualSizeBytes: images.virtualSizeBytes,
      builtAt: images.builtAt,
      enabled: images.enabled,
      state: images.state,
      ownerName: tenants.name,
      instances: sql<number>`(select count(*)::int from ${instances} i where i.image_id = ${outer(images.id)} and i.state <> 'terminated')`,
    })
    .from(images)
    .leftJoin(tenants, eq(tenants.id, images.ownerTenantId))
    .where(ne(images.state, 'deleted'))
    .orderBy(asc(images.captured), asc(images.name), asc(images.id))
    .limit(1000);
}

/** A disabled image is refused for new launches; instances already made from it keep running and can restart. */
export async function setImageEnabled(db: DbOrTx, actor: Actor, input: { imageId: string; enabled: boolean }) {
  return db.transaction(async (tx) => {
    const [image] = await tx.select().from(images).where(eq(images.id, input.imageId)).for('update');
    if (!image) throw new DomainError('NOT_FOUND', 'That image was not found.');
    if (image.enabled === input.enabled) return { id: image.id, enabled: image.enabled };
    await tx.update(images).set({ enabled: input.enabled }).where(eq(images.id, image.id));
    await recordAudit(tx, actor, {
      action: input.enabled ? 'admin.images.enable' : 'admin.images.disable',
      target: { type: 'image', id: image.id },
      detail: { name: image.name },
    });
    return { id: image.id, enabled: input.enabled };
  });
}

// Flavors --------------------------------------------------------------------


export async function listFlavorsForAdmin(db: DbOrTx) {
  return db.select().from(flavors).orderBy(asc(flavors.vcpus), asc(flavors.memoryMiB), asc(flavors.name));
}

async function refuseTakenName(tx: Tx, name: string, exceptId?: string) {
  const [taken] = await tx
    .select({ id: flavors.id })
    .from(flavors)
    .where(and(sql`lower(${flavors.name}) = lower(${name})`, exceptId ? ne(flavors.id, exceptId) : undefined))
    .limit(1);
  if (taken) throw new DomainError('CONFLICT', `A flavor named “${name}” already exists.`, 'name');
}

/** Serialise flavor edits, so two admins cannot both take one name (case-insensitively). */
const lockFlavors = (tx: Tx) => tx.execute(sql`lock table ${flavors} in share row exclusive mode`);

export async function createFlavor(db: DbOrTx, actor: Actor, spec: FlavorSpec) {
  return db.transaction(async (tx) => {
    await lockFlavors(tx);
    await refuseTakenName(tx, spec.name);
    const [flavor] = await tx.insert(flavors).values(spec).returning();
    await recordAudit(tx, actor, { action: 'admin.flavors.create', target: { type: 'flavor', id: flavor!.id }, detail: spec });
    return flavor!;
  });
}

export async function updateFlavor(db: DbOrTx, actor: Actor, input: Partial<FlavorSpec> & { flavorId: string; enabled?: boolean }) {
  return db.transaction(async (tx) => {
    await lockFlavors(tx);
    const [flavor] = await tx.select().from(flavors).where(eq(flavors.id, input.flavorId));
    if (!flavor) throw new DomainError('NOT_FOUND', 'That flavor was not found.');
    const { flavorId: _id, ...changes } = input;
    if (changes.name !== undefined) await refuseTakenName(tx, changes.name, flavor.id);
    if (Object.keys(changes).length === 0) return flavor;
    const [updated] = await tx.update(flavors).set(changes).where(eq(flavors.id, flavor.id)).returning();
    const from = Object.fromEntries(Object.keys(changes).map((k) => [k, flavor[k as keyof typeof changes]]));
    await recordAudit(tx, actor, { action: 'admin.flavors.update', target: { type: 'flavor', id: flavor.id }, detail: { name: flavor.name, from, to: changes } });
    return updated!;
  });
}

/** Flavors are presets, not references: instances keep their own sizes, so deleting one touches no instance. */
export async function deleteFlavor(db: DbOrTx, actor: Actor, input: { flavorId: string }) {
  return db.transaction(async (tx) => {
    const [gone] = await tx.delete(flavors).where(eq(flavors.id, input.flavorId)).returning();
    if (!gone) throw new DomainError('NOT_FOUND', 'That flavor was not found.');
    const { id, createdAt: _c, ...spec } = gone;
    await recordAudit(tx, actor, { action: 'admin.flavors.delete', target: { type: 'flavor', id }, detail: spec });
  });
}
