import { asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { flavors, images } from '../db/schema';
import { imageFootprint, type GuestImage } from '../hypervisor';

/** Images built on this host appear in the database (admins may disable them; that choice is kept). */
export async function syncImages(db: DbOrTx, catalog: GuestImage[]): Promise<void> {
  for (const img of catalog) {
    const builtAt = Number.isNaN(Date.parse(img.builtAt)) ? null : new Date(img.builtAt);
    const facts = {
      name: img.name,
      description: img.source,
      minMemoryMiB: img.minMemoryMiB,
      minDiskGiB: img.minDiskGiB,
      minVcpus: img.minVcpus,
      osFamily: img.osFamily,
      osVersion: img.osVersion,
      loginUser: img.loginUser,
      architecture: img.architecture,
      features: img.features,
      builtAt,
      ...imageFootprint(img),
    };
    await db
      .insert(images)
      .values({ id: img.id, ...facts })
      .onConflictDoUpdate({ target: images.id, set: facts });
  }
}

const defaultFlavors = [
  { name: 'tiny', vcpus: 1, memoryMiB: 256, diskGiB: 1, nics: 1 },
  { name: 'small', vcpus: 1, memoryMiB: 512, diskGiB: 2, nics: 1 },
  { name: 'medium', vcpus: 2, memoryMiB: 1024, diskGiB: 4, nics: 1 },
  { name: 'large', vcpus: 4, memoryMiB: 2048, diskGiB: 8, nics: 2 },
];

/** Sensible size presets on first start; admins manage them after that. */
export async function seedFlavors(db: DbOrTx): Promise<void> {
  const [any] = await db.select({ n: sql<number>`count(*)::int` }).from(flavors);
  if ((any?.n ?? 0) > 0) return;
  await db.insert(flavors).values(defaultFlavors).onConflictDoNothing();
}

export async function listFlavors(db: DbOrTx) {
  return db
    .select({ id: flavors.id, name: flavors.name, vcpus: flavors.vcpus, memoryMiB: flavors.memoryMiB, diskGiB: flavors.diskGiB, nics: flavors.nics, bandwidthMbit: flavors.bandwidthMbit })
    .from(flavors)
    .where(eq(flavors.enabled, true))
    .orderBy(asc(flavors.vcpus), asc(flavors.memoryMiB), asc(flavors.name));
}
