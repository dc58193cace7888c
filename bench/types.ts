/** One benchmark: `run` measures and returns figures; index.ts prints them. */
export interface BenchModule {
  name: string;
  description: string;
  run(): Promise<BenchFigure[]>;
}

export interface BenchFigure {
  label: string;
  value: number | string;
  unit?: string;
  /** The target this figure is held to, in words (e.g. "≤ 2 s"), and whether this run met it. */
  target?: { text: string; met: boolean };
}

/** A figure held to an upper bound: met when `value` ≤ `limit`. */
export function atMost(label: string, value: number, limit: number, unit: string): BenchFigure {
  return { label, value, unit, target: { text: `≤ ${limit} ${unit}`, met: value <= limit } };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
