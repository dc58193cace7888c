import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { platformSettings } from '../db/schema';
import { quotaLimitsSchema, type QuotaLimits } from '../quotas/resources';

export { quotaLimitsSchema, type QuotaLimits };

// Each setting: its schema and default. Unknown or malformed stored values fall back to the default.
const definitions = {
  signupEnabled: { schema: z.boolean(), default: true },
  /** Limits a new tenant starts with. */
  defaultQuotas: {
    schema: quotaLimitsSchema,
    default: { instances: 10, vcpus: 16, memoryMiB: 16_384, diskGiB: 200, nics: 20 } as QuotaLimits,
  },
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
  return { signupEnabled: await getSetting(db, 'signupEnabled'), defaultQuotas: await getSetting(db, 'defaultQuotas') };
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
