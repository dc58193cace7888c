import { quotaMax } from '@/server/quotas/resources';
import type { RouterInputs } from '@/server/trpc/root';

export type QuotaLimits = RouterInputs['admin']['quotas']['setDefaults'];
export type LimitKey = keyof QuotaLimits;

// The bounds are the server's own (quotaMax); `what` names the limit inside a sentence.
export const LIMITS: { key: LimitKey; label: string; what: string; max: number }[] = [
  { key: 'instances', label: 'Instances', what: 'the instance limit', max: quotaMax.instances },
  { key: 'vcpus', label: 'vCPUs', what: 'the vCPU limit', max: quotaMax.vcpus },
  { key: 'memoryMiB', label: 'Memory (MiB)', what: 'the memory limit', max: quotaMax.memoryMiB },
  { key: 'diskGiB', label: 'Disk (GiB)', what: 'the disk limit', max: quotaMax.diskGiB },
  { key: 'nics', label: 'Network interfaces', what: 'the network interface limit', max: quotaMax.nics },
];

/** A whole number from 0 to max, or a sentence saying what is wrong. */
export function parseLimit(text: string, what: string, max: number): { value: number } | { error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: `Enter ${what} as a whole number, 0 or more.` };
  const value = Number(t);
  if (value > max) return { error: `${what[0]!.toUpperCase()}${what.slice(1)} can be at most ${max}.` };
  return { value };
}
