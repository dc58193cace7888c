// The resources a quota limits, their names and bounds: plain data and a zod
// schema, shared by the server and the forms in the browser.
import { z } from 'zod';

export const quotaResources = ['instances', 'vcpus', 'memoryMiB', 'diskGiB', 'nics', 'networks', 'bandwidthMbit', 'portForwards', 'savedStateMiB', 'snapshots', 'snapshotGiB', 'volumes', 'volumeGiB'] as const;
export type QuotaResource = (typeof quotaResources)[number];

export const resourceLabels: Record<QuotaResource, { name: string; unit: string }> = {
  instances: { name: 'Instances', unit: '' },
  vcpus: { name: 'vCPUs', unit: '' },
  memoryMiB: { name: 'Memory', unit: 'MiB' },
  diskGiB: { name: 'Disk', unit: 'GiB' },
  nics: { name: 'Network interfaces', unit: '' },
  networks: { name: 'Networks', unit: '' },
  bandwidthMbit: { name: 'Network bandwidth', unit: 'Mbit/s' },
  portForwards: { name: 'Port forwards', unit: '' },
  savedStateMiB: { name: 'Saved state', unit: 'MiB' },
  snapshots: { name: 'Snapshots', unit: '' },
  snapshotGiB: { name: 'Snapshot storage', unit: 'GiB' },
  volumes: { name: 'Volumes', unit: '' },
  volumeGiB: { name: 'Volume storage', unit: 'GiB' },
};

/** The largest limit an admin may set for each resource. */
export const quotaMax: Record<QuotaResource, number> = {
  instances: 100_000,
  vcpus: 1_000_000,
  memoryMiB: 1_000_000_000,
  diskGiB: 1_000_000_000,
  nics: 1_000_000,
  networks: 10_000,
  bandwidthMbit: 1_000_000_000,
  portForwards: 100_000,
  savedStateMiB: 1_000_000_000,
  snapshots: 100_000,
  snapshotGiB: 1_000_000_000,
  volumes: 100_000,
  volumeGiB: 1_000_000_000,
};

export const quotaLimitsSchema = z.object({
  instances: z.int().min(0).max(quotaMax.instances),
  vcpus: z.int().min(0).max(quotaMax.vcpus),
  memoryMiB: z.int().min(0).max(quotaMax.memoryMiB),
  diskGiB: z.int().min(0).max(quotaMax.diskGiB),
  nics: z.int().min(0).max(quotaMax.nics),
  networks: z.int().min(0).max(quotaMax.networks),
  bandwidthMbit: z.int().min(0).max(quotaMax.bandwidthMbit),
  portForwards: z.int().min(0).max(quotaMax.portForwards),
  savedStateMiB: z.int().min(0).max(quotaMax.savedStateMiB),
  snapshots: z.int().min(0).max(quotaMax.snapshots),
  snapshotGiB: z.int().min(0).max(quotaMax.snapshotGiB),
  volumes: z.int().min(0).max(quotaMax.volumes),
  volumeGiB: z.int().min(0).max(quotaMax.volumeGiB),
});
export type QuotaLimits = z.infer<typeof quotaLimitsSchema>;

/** Limits for resources that came after a stored set of limits was saved. */
export const newerQuotaDefaults: Pick<QuotaLimits, 'networks' | 'bandwidthMbit' | 'portForwards' | 'savedStateMiB' | 'snapshots' | 'snapshotGiB' | 'volumes' | 'volumeGiB'> = {
  networks: 5,
  bandwidthMbit: 2_000,
  portForwards: 10,
  savedStateMiB: 16_384,
  snapshots: 20,
  snapshotGiB: 100,
  volumes: 20,
  volumeGiB: 500,
};

/** What adding `request` to `used` does against `limit`: the rule launches are held to, and the forms preview. */
export function headroom(used: number, request: number, limit: number) {
  const after = used + request;
  return { after, left: Math.max(0, limit - used), fits: after <= limit };
}
