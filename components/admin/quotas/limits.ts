import { quotaMax, quotaResources, resourceLabels } from '@/server/quotas/resources';
import type { RouterInputs } from '@/server/trpc/root';

export type QuotaLimits = RouterInputs['admin']['quotas']['setDefaults'];
export type LimitKey = keyof QuotaLimits;

// Every quota resource, with the server's own names and bounds (server/quotas/resources.ts);
// `what` names the limit inside a sentence.
export const LIMITS: { key: LimitKey; label: string; what: string; max: number }[] = quotaResources.map((key) => {
  const { name, unit } = resourceLabels[key];
  return { key, label: unit ? `${name} (${unit})` : name, what: `the ${({ instances: 'instance', vcpus: 'vCPU' } as Partial<Record<LimitKey, string>>)[key] ?? name.toLowerCase()} limit`, max: quotaMax[key] };
});

/** A whole number from 0 to max, or a sentence saying what is wrong. */
export function parseLimit(text: string, what: string, max: number): { value: number } | { error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: `Enter ${what} as a whole number, 0 or more.` };
  const value = Number(t);
  if (value > max) return { error: `${what[0]!.toUpperCase()}${what.slice(1)} can be at most ${max}.` };
  return { value };
}
