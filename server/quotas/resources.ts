// The resources a quota limits, their names and bounds: plain data and a zod
// schema, shared by the server and the forms in the browser.
import { z } from 'zod';

export const quotaResources = ['instances', 'vcpus', 'memoryMiB', 'diskGiB', 'nics'] as const;
export type QuotaResource = (typeof quotaResources)[number];

export const resourceLabels: Record<QuotaResource, { name: string; unit: string }> = {
  instances: { name: 'Instances', unit: '' },
  vcpus: { name: 'vCPUs', unit: '' },
  memoryMiB: { name: 'Memory', unit: 'MiB' },
  diskGiB: { name: 'Disk', unit: 'GiB' },
  nics: { name: 'Network interfaces', unit: '' },
};

/** The largest limit an admin may set for each resource. */
export const quotaMax: Record<QuotaResource, number> = {
  instances: 100_000,
  vcpus: 1_000_000,
  memoryMiB: 1_000_000_000,
  diskGiB: 1_000_000_000,
  nics: 1_000_000,
};

export const quotaLimitsSchema = z.object({
  instances: z.int().min(0).max(quotaMax.instances),
  vcpus: z.int().min(0).max(quotaMax.vcpus),
  memoryMiB: z.int().min(0).max(quotaMax.memoryMiB),
  diskGiB: z.int().min(0).max(quotaMax.diskGiB),
  nics: z.int().min(0).max(quotaMax.nics),
});
export type QuotaLimits = z.infer<typeof quotaLimitsSchema>;

/** What adding `request` to `used` does against `limit`: the rule launches are held to, and the forms preview. */
export function headroom(used: number, request: number, limit: number) {
  const after = used + request;
  return { after, left: Math.max(0, limit - used), fits: after <= limit };
}
