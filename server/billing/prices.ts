import { asc, desc, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { priceVersions } from '../db/schema';
import { DomainError } from '../errors';

export const MICRO = 1_000_000;

const microPrice = (label: string) =>
  z.int(`${label} must be a whole number of micro-units.`).min(0, `${label} cannot be negative.`).max(1_000_000_000_000, `${label} is too large.`);

export const priceInput = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/, 'Use a three-letter currency code, like USD.'),
  vcpuHour: microPrice('vCPU-hour'),
  memoryGiBHour: microPrice('GiB-RAM-hour'),
  diskGiBHour: microPrice('GiB-disk-hour'),
  nicHour: microPrice('NIC-hour'),
  bandwidthMbitHour: microPrice('Mbit/s-hour'),
  portForwardHour: microPrice('Port-forward-hour'),
  savedStateGiBHour: microPrice('GiB-saved-state-hour'),
  snapshotGiBHour: microPrice('GiB-snapshot-hour'),
  imageGiBHour: microPrice('GiB-image-hour'),
  volumeGiBHour: microPrice('GiB-volume-hour'),
  volumeIopsHour: microPrice('IOPS-hour'),
  volumeMbpsHour: microPrice('MB/s-hour'),
  /** When the new prices apply; now when omitted. Never in the past: a price change does not rewrite history. */
  effectiveFrom: z.date().optional(),
});
export type PriceInput = z.infer<typeof priceInput>;

/** Sensible defaults (about EC2's small Linux rates), in micro-units of USD per unit-hour. */
export const DEFAULT_PRICES = {
  currency: 'USD',
  vcpuHour: 10_400,
  memoryGiBHour: 5_200,
  diskGiBHour: 137,
  nicHour: 1_000,
  // 100 Mbit/s for a month ≈ $2.92; a port forward ≈ an EC2 public IPv4 address ($0.005/h).
  bandwidthMbitHour: 40,
  portForwardHour: 5_000,
  // A suspended instance's saved memory is stored like disk.
  savedStateGiBHour: 137,
  // About EC2's snapshot storage ($0.05 per GB-month).
  snapshotGiBHour: 68,
  // A tenant's own images: stored like snapshots.
  imageGiBHour: 68,
  // Volumes about EC2 gp3's: $0.08 per GB-month, $0.005 per provisioned IOPS-month and $0.04 per MB/s-month above the baseline.
  volumeGiBHour: 110,
  volumeIopsHour: 7,
  volumeMbpsHour: 55,
} as const;

const columns = {
  id: priceVersions.id,
  effectiveFrom: priceVersions.effectiveFrom,
  currency: priceVersions.currency,
  vcpuHour: priceVersions.vcpuHour,
  memoryGiBHour: priceVersions.memoryGiBHour,
  diskGiBHour: priceVersions.diskGiBHour,
  nicHour: priceVersions.nicHour,
  bandwidthMbitHour: priceVersions.bandwidthMbitHour,
  portForwardHour: priceVersions.portForwardHour,
  savedStateGiBHour: priceVersions.savedStateGiBHour,
  snapshotGiBHour: priceVersions.snapshotGiBHour,
  imageGiBHour: priceVersions.imageGiBHour,
  volumeGiBHour: priceVersions.volumeGiBHour,
  volumeIopsHour: priceVersions.volumeIopsHour,
  volumeMbpsHour: priceVersions.volumeMbpsHour,
  createdAt: priceVersions.createdAt,
};

export async function seedPrices(db: DbOrTx): Promise<void> {
  await db
    .insert(priceVersions)
    .values({ ...DEFAULT_PRICES, effectiveFrom: new Date('2000-01-01T00:00:00Z') })
    .onConflictDoNothing();
}

export async function listPrices(db: DbOrTx) {
  return db.select(columns).from(priceVersions).orderBy(desc(priceVersions.effectiveFrom));
}

/** The version in force now (the seeded one at least). */
export async function currentPrices(db: DbOrTx) {
  const [row] = await db.select(columns).from(priceVersions).where(lte(priceVersions.effectiveFrom, sql`now()`)).orderBy(desc(priceVersions.effectiveFrom)).limit(1);
  if (row) return row;
  await seedPrices(db);
  const [seeded] = await db.select(columns).from(priceVersions).orderBy(asc(priceVersions.effectiveFrom)).limit(1);
  return seeded!;
}

export async function setPrices(db: DbOrTx, actor: Actor, input: PriceInput) {
  return db.transaction(async (tx) => {
    const [{ now } = { now: new Date() }] = (await tx.execute<{ now: Date }>(sql`select now() as now`)).rows;
    const from = input.effectiveFrom ?? new Date(now);
    if (from.getTime() < new Date(now).getTime() - 1000) {
      throw new DomainError('INVALID_INPUT', 'New prices cannot start in the past: past usage keeps the prices it had.', 'effectiveFrom');
    }
    const [current] = await tx.select({ currency: priceVersions.currency }).from(priceVersions).orderBy(desc(priceVersions.effectiveFrom)).limit(1);
    if (current && current.currency !== input.currency) {
      throw new DomainError('INVALID_INPUT', `Prices are in ${current.currency}; one currency for all invoices.`, 'currency');
    }
    const [row] = await tx
      .insert(priceVersions)
      .values({ ...input, effectiveFrom: from, createdBy: actor.kind === 'user' ? actor.userId : null })
      .onConflictDoUpdate({ target: priceVersions.effectiveFrom, set: { ...input, createdBy: actor.kind === 'user' ? actor.userId : null } })
      .returning(columns);
    await recordAudit(tx, actor, { action: 'prices.set', target: { type: 'price_version', id: row!.id }, detail: { ...input, effectiveFrom: from.toISOString() } });
    return row!;
  });
}
