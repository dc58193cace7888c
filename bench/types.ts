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
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
