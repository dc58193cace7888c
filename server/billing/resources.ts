// The resources the ledger meters and the price book prices: one list, so the
// invoice SQL, the running rate and the estimates cannot disagree on a price.
// (No server imports: the billing pages share the names.)

export const billedResources = ['vcpu', 'memory_mib', 'disk_gib', 'nic', 'bandwidth_mbit', 'port_forward', 'saved_state_mib', 'snapshot_mib', 'image_mib', 'volume_gib', 'volume_iops', 'volume_mbps'] as const;
export type BilledResource = (typeof billedResources)[number];

export type PriceKey = 'vcpuHour' | 'memoryGiBHour' | 'diskGiBHour' | 'nicHour' | 'bandwidthMbitHour' | 'portForwardHour' | 'savedStateGiBHour' | 'snapshotGiBHour' | 'imageGiBHour' | 'volumeGiBHour' | 'volumeIopsHour' | 'volumeMbpsHour';

/**
 * Each resource's price: the price-book column (per unit-hour) and how many
 * metered units one priced unit is (memory is metered in MiB, priced per GiB).
 */
export const priceOf: Record<BilledResource, { key: PriceKey; column: string; per: number }> = {
  vcpu: { key: 'vcpuHour', column: 'vcpu_hour', per: 1 },
  memory_mib: { key: 'memoryGiBHour', column: 'memory_gib_hour', per: 1024 },
  disk_gib: { key: 'diskGiBHour', column: 'disk_gib_hour', per: 1 },
  nic: { key: 'nicHour', column: 'nic_hour', per: 1 },
  bandwidth_mbit: { key: 'bandwidthMbitHour', column: 'bandwidth_mbit_hour', per: 1 },
  port_forward: { key: 'portForwardHour', column: 'port_forward_hour', per: 1 },
  saved_state_mib: { key: 'savedStateGiBHour', column: 'saved_state_gib_hour', per: 1024 },
  snapshot_mib: { key: 'snapshotGiBHour', column: 'snapshot_gib_hour', per: 1024 },
  image_mib: { key: 'imageGiBHour', column: 'image_gib_hour', per: 1024 },
  volume_gib: { key: 'volumeGiBHour', column: 'volume_gib_hour', per: 1 },
  volume_iops: { key: 'volumeIopsHour', column: 'volume_iops_hour', per: 1 },
  volume_mbps: { key: 'volumeMbpsHour', column: 'volume_mbps_hour', per: 1 },
};

/** Compute is used while the instance runs (at least 60 s per run); the rest while it holds it. */
export const RUN_MINIMUM_RESOURCES: readonly BilledResource[] = ['vcpu', 'memory_mib'];

/** Micro-units per hour for `quantity` metered units at `prices` (not rounded: callers round once). */
export function unitRate(prices: Record<PriceKey, number>, resource: BilledResource, quantity: number): number {
  const p = priceOf[resource];
  return (quantity * prices[p.key]) / p.per;
}
