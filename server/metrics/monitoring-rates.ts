// Rates from a guest's cumulative counters: what it did between two readings
// of the driver's stats(). Pure, so the arithmetic is tested on its own.
import type { GuestStats } from '../hypervisor/types';

/** One reading of a guest's counters, and when it was taken on a monotonic clock (ms). */
export interface Reading {
  atMs: number;
  stats: GuestStats;
}

/** One raw sample's values (a row of instance_samples without its keys and time). */
export interface SampleValues {
  cpuPct: number;
  memoryTotalBytes: number;
  memoryResidentBytes: number;
  diskReadBps: number;
  diskWriteBps: number;
  netRxBps: number | null;
  netTxBps: number | null;
}

const MiB = 1024 * 1024;

/** The increase of a counter, or null when it went backwards (the thing behind it started again). */
function increase(prev: number, cur: number): number | null {
  return cur >= prev ? cur - prev : null;
}

/**
 * Bytes per second over the devices both readings have: a device that
 * appeared (hot-plugged) or whose counter went backwards contributes nothing
 * this once; its value now is where it counts from next time.
 */
function deviceRate<T>(prev: T[], cur: T[], key: (d: T) => string, value: (d: T) => number | null, seconds: number): number | null {
  const before = new Map(prev.map((d) => [key(d), value(d)]));
  let sum = 0;
  let seen = false;
  for (const d of cur) {
    const v = value(d);
    if (v === null) continue;
    seen = true;
    const p = before.get(key(d));
    const inc = p === undefined || p === null ? null : increase(p, v);
    if (inc !== null) sum += inc;
  }
  return seen ? sum / seconds : null;
}

/**
 * What the guest did from `prev` to `cur`, or null when there is nothing to
 * say: no time passed, or its CPU time went backwards (a new guest process:
 * a restart), in which case `cur` is the new baseline. CPU % is of the
 * instance's vCPUs: Δcpu / (Δt × vCPUs). The host's CPU time of a guest also
 * counts its device emulation, so a guest whose vCPUs are all busy can read a
 * little over 100 %; it is shown as 100 %, what the instance could do.
 */
export function ratesBetween(prev: Reading, cur: Reading, vcpus: number): SampleValues | null {
  const ms = cur.atMs - prev.atMs;
  if (!(ms > 0) || vcpus < 1) return null;
  const cpuMs = increase(prev.stats.cpuTimeMs, cur.stats.cpuTimeMs);
  if (cpuMs === null) return null;
  const seconds = ms / 1000;
  const disk = (pick: 'readBytes' | 'writeBytes') =>
    deviceRate(prev.stats.disks, cur.stats.disks, (d) => d.device, (d) => d[pick], seconds) ?? 0;
  const net = (pick: 'rxBytes' | 'txBytes') => deviceRate(prev.stats.nics, cur.stats.nics, (n) => n.mac, (n) => n[pick], seconds);
  return {
    cpuPct: Math.min(100, (cpuMs / (ms * vcpus)) * 100),
    memoryTotalBytes: cur.stats.memoryMiB * MiB,
    memoryResidentBytes: cur.stats.residentMiB * MiB,
    diskReadBps: disk('readBytes'),
    diskWriteBps: disk('writeBytes'),
    netRxBps: net('rxBytes'),
    netTxBps: net('txBytes'),
  };
}
