/** Ratios travel in hundredths (400 = 4.0×) and are edited as a multiplier. */
export function formatRatio(pct: number): string {
  return (pct / 100).toFixed(pct % 10 === 0 ? 1 : 2);
}

export const RATIO_MIN_PCT = 10;
export const RATIO_MAX_PCT = 10_000;

/** "4", "4.0" or "1.25" → 400, 400, 125; a sentence when it is not a ratio Cirrus accepts. */
export function parseRatio(text: string, what: string): { pct: number } | { error: string } {
  const t = text.trim().replace(/×$|x$/i, '').trim();
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return { error: `Enter ${what} as a number like 4.0, with up to two decimals.` };
  const pct = Math.round(Number(t) * 100);
  if (pct < RATIO_MIN_PCT || pct > RATIO_MAX_PCT) return { error: `${what[0]!.toUpperCase()}${what.slice(1)} must be between 0.1× and 100×.` };
  return { pct };
}
