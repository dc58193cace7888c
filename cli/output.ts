// What goes to stdout: JSON (stable, for scripts) or plain aligned columns
// (for people). Colour only on a terminal, and never with NO_COLOR. Progress
// and notes go to stderr (./wait.ts, ./main.ts), so stdout stays parseable.
import { InvalidArgumentError } from 'commander';

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(text: string): OutputFormat {
  const f = text.trim().toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) throw new InvalidArgumentError(`Choose json or table (got “${text}”).`);
  return f as OutputFormat;
}

export type Color = 'green' | 'yellow' | 'red' | 'dim';
const SGR: Record<Color, string> = { green: '32', yellow: '33', red: '31', dim: '2' };
export const paint = (text: string, color: Color | null, enabled: boolean) => (enabled && color && text ? `\x1b[${SGR[color]}m${text}\x1b[0m` : text);

export type Column<T> = {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Numbers read better right-aligned. */
  align?: 'right';
  color?: (row: T) => Color | null;
};

const cell = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v).replace(/[\r\n\t]+/g, ' '));

/**
 * Aligned plain-text columns, two spaces apart, a header row first (always,
 * even with no rows). Widths are counted before colour is added.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: { color?: boolean } = {}): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (parts: string[], colors: (Color | null)[]) =>
    parts
      .map((p, i) => {
        const pad = ' '.repeat(widths[i]! - p.length);
        // Colour the text, not the padding, so columns stay aligned.
        const text = paint(p, colors[i] ?? null, true);
        return columns[i]!.align === 'right' ? pad + text : text + pad;
      })
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header), columns.map(() => null))];
  rows.forEach((r, n) => out.push(line(cells[n]!, columns.map((c) => (opts.color && c.color ? c.color(r) : null)))));
  return `${out.join('\n')}\n`;
}

/** One record as `label  value` lines (for `get` and `launch`). */
export function formatFields(pairs: readonly (readonly [string, string | number | null | undefined])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return `${pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n')}\n`;
}

/** Stable JSON: dates as ISO strings, two-space indent, a final newline. */
export const formatJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** 2026-01-31 12:00:00Z: sortable and the same in every locale. */
export function formatTime(d: Date | string | null | undefined): string {
  if (!d) return '-';
  const date = typeof d === 'string' ? new Date(d) : d;
  return Number.isNaN(date.getTime()) ? '-' : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** How a state word is coloured on a terminal. */
export function stateColor(state: string): Color | null {
  if (state === 'running') return 'green';
  if (state === 'error') return 'red';
  if (state === 'stopped' || state === 'terminated' || state === 'suspended') return 'dim';
  return 'yellow';
}
