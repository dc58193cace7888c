import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { platformSettings } from '../db/schema';
import { newerQuotaDefaults, quotaLimitsSchema, type QuotaLimits } from '../quotas/resources';

export { quotaLimitsSchema, type QuotaLimits };

/** Host ports tenants' port forwards are allocated from (admin setting). */
export const portRangeSchema = z
  .object({
    from: z.int('Enter a whole port number.').min(1024, 'Port forwards start at 1024 or above (below are the host’s own services).').max(65_535, 'Ports end at 65535.'),
    to: z.int('Enter a whole port number.').min(1024, 'Port forwards start at 1024 or above.').max(65_535, 'Ports end at 65535.'),
  })
  .refine((r) => r.to >= r.from, { message: 'The range ends before it starts.', path: ['to'] });
export type PortRange = z.infer<typeof portRangeSchema>;

export const placementStrategySchema = z.enum(['spread', 'pack'], 'Choose spread or pack.');
export type PlacementStrategy = z.infer<typeof placementStrategySchema>;

// Each setting: its schema and default. Unknown or malformed stored values fall back to the default.
const definitions = {
  signupEnabled: { schema: z.boolean(), default: true },
  /** Limits a new tenant starts with. */
  defaultQuotas: {
    // Limits saved before a resource existed keep their values and get its default.
    schema: z.preprocess((v) => (typeof v === 'object' && v !== null ? { ...newerQuotaDefaults, ...v } : v), quotaLimitsSchema),
    default: { instances: 10, vcpus: 16, memoryMiB: 16_384, diskGiB: 200, nics: 20, ...newerQuotaDefaults } as QuotaLimits,
  },
  portForwardRange: { schema: portRangeSchema, default: { from: 20_000, to: 29_999 } as PortRange },
  /** Where new instances go among the hosts with room: the emptiest (spread), or the fullest (pack, leaving whole hosts free). */
  placementStrategy: { schema: placementStrategySchema, default: 'spread' as PlacementStrategy },
} as const;

export type SettingKey = keyof typeof definitions;
export type Settings = { [K in SettingKey]: z.infer<(typeof definitions)[K]['schema']> };

export async function getSetting<K extends SettingKey>(db: DbOrTx, key: K): Promise<Settings[K]> {
  const [row] = await db
    .select({ value: platformSettings.value })
    .from(platformSettings)
    .where(eq(platformSettings.key, key))
    .limit(1);
  const def = definitions[key];
  const parsed = def.schema.safeParse(row?.value);
  return (parsed.success ? parsed.data : def.default) as Settings[K];
}

export async function getSettings(db: DbOrTx): Promise<Settings> {
  return {
    signupEnabled: await getSetting(db, 'signupEnabled'),
    defaultQuotas: await getSetting(db, 'defaultQuotas'),
    portForwardRange: await getSetting(db, 'portForwardRange'),
    placementStrategy: await getSetting(db, 'placementStrategy'),
  };
}

export async function setSetting<K extends SettingKey>(
  db: DbOrTx,
  actor: Actor,
  key: K,
  value: Settings[K],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(platformSettings)
      .values({ key, value })
      .onConflictDoUpdate({ target: platformSettings.key, set: { value, updatedAt: sql`now()` } });
    await recordAudit(tx, actor, { action: 'settings.set', target: { type: 'setting', id: key }, detail: { value } });
  });
}
