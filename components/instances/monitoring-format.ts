import type { RouterInputs, RouterOutputs } from '@/server/trpc/root';
import { formatBytes } from '../ui/format-bytes';

export type Metrics = RouterOutputs['instances']['metrics'];
export type MetricsPoint = Metrics['points'][number];
export type MetricsRange = RouterInputs['instances']['metrics']['range'];

export const RANGE_OPTIONS: { value: MetricsRange; label: string; span: string }[] = [
  { value: '1h', label: '1 hour', span: 'the last hour' },
  { value: '1d', label: '1 day', span: 'the last day' },
  { value: '1w', label: '1 week', span: 'the last week' },
];

/** "87 %": CPU to the whole percent. */
export const formatPct = (v: number) => `${Math.round(v)} %`;

/** "1.2 MiB/s", "0 bytes/s". */
export const formatRate = (v: number) => `${formatBytes(Math.round(v))}/s`;

/** A time on the chart's axis: hours and minutes, with the weekday over a week. */
export function formatTick(ms: number, range: MetricsRange): string {
  const d = new Date(ms);
  return range === '1w'
    ? d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export const formatWhen = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A row for the charts: its time as a number, or a break in the lines (a gap in the samples: the instance was not running). */
export type ChartRow = { t: number } & { [K in Exclude<keyof MetricsPoint, 'at'>]: MetricsPoint[K] | null };

/** Points as chart rows, with a break wherever more than three resolutions pass without one. */
export function chartRows(m: Metrics): ChartRow[] {
  const rows: ChartRow[] = [];
  const gap = 3 * m.resolutionSeconds * 1000;
  let prev: number | null = null;
  for (const { at, ...values } of m.points) {
    const t = at.getTime();
    if (prev !== null && t - prev > gap) {
      rows.push({ t: prev + m.resolutionSeconds * 1000, cpuPct: null, cpuPctMax: null, memoryTotalBytes: null, memoryResidentBytes: null, diskReadBps: null, diskWriteBps: null, netRxBps: null, netTxBps: null });
    }
    rows.push({ t, ...values });
    prev = t;
  }
  return rows;
}

/**
 * What each chart says to a screen reader: the latest value ("now" when it is
 * recent, else when it was) and the peak over the range.
 */
export function summaries(m: Metrics, range: MetricsRange) {
  const span = RANGE_OPTIONS.find((r) => r.value === range)!.span;
  const last = m.points.at(-1);
  if (!last) return null;
  const recent = m.to.getTime() - last.at.getTime() <= 3 * Math.max(m.resolutionSeconds, m.sampleSeconds) * 1000;
  const when = recent ? 'now' : `at ${formatWhen(last.at.getTime())} (the latest sample)`;
  const peak = (f: (p: MetricsPoint) => number | null) => m.points.reduce((max, p) => Math.max(max, f(p) ?? 0), 0);
  const measuredNet = m.points.some((p) => p.netRxBps !== null);
  return {
    cpu: `CPU ${formatPct(last.cpuPct)} ${when}, peak ${formatPct(peak((p) => p.cpuPctMax))} in ${span}.`,
    memory: `Memory ${formatBytes(Math.round(last.memoryResidentBytes))} resident of ${formatBytes(last.memoryTotalBytes)} ${when}, peak ${formatBytes(Math.round(peak((p) => p.memoryResidentBytes)))} in ${span}.`,
    disk: `Disk reads ${formatRate(last.diskReadBps)} and writes ${formatRate(last.diskWriteBps)} ${when}; peak reads ${formatRate(peak((p) => p.diskReadBps))}, writes ${formatRate(peak((p) => p.diskWriteBps))} in ${span}.`,
    network: measuredNet
      ? `Network receives ${formatRate(last.netRxBps ?? 0)} and sends ${formatRate(last.netTxBps ?? 0)} ${when}; peak receives ${formatRate(peak((p) => p.netRxBps))}, sends ${formatRate(peak((p) => p.netTxBps))} in ${span}.`
      : NET_NOT_MEASURED,
  };
}

export const NET_NOT_MEASURED = 'Network throughput is not measured for this instance: its interfaces use user-mode networking, which its host cannot count.';
