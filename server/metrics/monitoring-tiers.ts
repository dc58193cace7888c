// Guest monitoring: how often a guest is sampled, which tiers of samples are
// kept and for how long, and which tier a chart range reads.
//
// The tiers are chosen so each chart range reads one tier and stays under
// MAX_POINTS without losing the shape of a burst:
//   raw  every CIRRUS_SAMPLE_SECONDS (10 s): kept 2 h  → 1 h  = 360 points.
//        The second hour is room for the 1-minute rollup to catch up after
//        the server was down a while, never data a chart shows.
//   1m   mean (and CPU max) per minute:      kept 2 days → 1 day = 1,440
//        minutes, read as 2-minute buckets (720 points); the second day is
//        room for the 15-minute rollup, which is made of these rows.
//   15m  mean (and CPU max) per 15 minutes:  kept 14 days → 1 week = 672
//        points; the second week lets a week's view start a week ago at any
//        time of day, with room to spare.
// A row holds ~100 bytes, so an instance keeps ~720 + 2,880 + 1,344 rows.
// Each coarser tier averages the finer one weighted by how many raw samples
// each row stands for, which makes it exactly the mean of the raw samples.

export type SampleTier = 'raw' | '1m' | '15m';
export type MetricsRange = '1h' | '1d' | '1w';

export const METRICS_RANGES = ['1h', '1d', '1w'] as const satisfies readonly MetricsRange[];

/** The most points one series of the API returns; a range that would have more is read in wider buckets. */
export const MAX_POINTS = 1000;

/** How long each tier is kept, and the bucket width of the rolled-up ones (seconds). */
export const TIERS = {
  raw: { retentionSeconds: 2 * 3600 },
  '1m': { widthSeconds: 60, retentionSeconds: 2 * 86_400, from: 'raw' },
  '15m': { widthSeconds: 15 * 60, retentionSeconds: 14 * 86_400, from: '1m' },
} as const;

/** A bucket is rolled up once it ended this long ago: a raw sample stamped inside it has committed by then. */
export const ROLLUP_GRACE_SECONDS = 30;

export const RANGES: Record<MetricsRange, { seconds: number; tier: SampleTier; label: string }> = {
  '1h': { seconds: 3600, tier: 'raw', label: 'the last hour' },
  '1d': { seconds: 86_400, tier: '1m', label: 'the last day' },
  '1w': { seconds: 7 * 86_400, tier: '15m', label: 'the last week' },
};

const DEFAULT_SAMPLE_SECONDS = 10;

/** CIRRUS_SAMPLE_SECONDS: a whole number of seconds from 1 to 300, default 10. */
export function sampleSeconds(raw = process.env.CIRRUS_SAMPLE_SECONDS): number {
  if (raw === undefined || raw === '') return DEFAULT_SAMPLE_SECONDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 300) {
    throw new Error(`CIRRUS_SAMPLE_SECONDS must be a whole number of seconds from 1 to 300, not ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * The width (seconds) a range is read at: its tier's own (the sample interval
 * for raw), or a whole multiple of it when that would give more than MAX_POINTS.
 * `native` says whether the tier's rows are returned as they are.
 */
export function rangeResolution(range: MetricsRange, everySeconds: number): { tier: SampleTier; seconds: number; native: boolean } {
  const { seconds: span, tier } = RANGES[range];
  const own = tier === 'raw' ? everySeconds : TIERS[tier].widthSeconds;
  const factor = Math.max(1, Math.ceil(span / own / MAX_POINTS));
  return { tier, seconds: own * factor, native: factor === 1 };
}
