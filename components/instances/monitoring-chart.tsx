'use client';

import { useId } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatTick, formatWhen, type ChartRow, type MetricsRange } from './monitoring-format';

export type Series = { key: Exclude<keyof ChartRow, 't'>; name: string; color: string };

/**
 * One small line chart of the Monitoring card: a figure named by its title and
 * described by a sentence of its latest value and peak (visually hidden), so a
 * screen reader hears what the lines show.
 */
export function MonitoringChart({
  title,
  summary,
  rows,
  series,
  format,
  range,
  from,
  to,
  yMax,
}: {
  title: string;
  summary: string;
  rows: ChartRow[];
  series: Series[];
  /** A value with its unit, for the axis ticks and the tooltip. */
  format: (v: number) => string;
  range: MetricsRange;
  from: Date;
  to: Date;
  /** A fixed top of the scale (100 for CPU %); else it fits the data. */
  yMax?: number;
}) {
  const id = useId();
  return (
    <figure aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} className="min-w-0 space-y-2">
      <figcaption id={`${id}-title`} className="text-sm font-medium text-slate-800">
        {title}
      </figcaption>
      <p id={`${id}-summary`} className="sr-only">
        {summary}
      </p>
      <div className="h-44 w-full">
        <LineChart
          responsive
          data={rows}
          title={title}
          desc={summary}
          style={{ width: '100%', height: '100%' }}
          margin={{ top: 4, right: 8, bottom: 0, left: 0 }}
        >
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[from.getTime(), to.getTime()]}
            tickFormatter={(v: number) => formatTick(v, range)}
            tick={{ fontSize: 11, fill: '#475569' }}
            minTickGap={24}
          />
          <YAxis
            domain={[0, yMax ?? 'auto']}
            allowDataOverflow={yMax !== undefined}
            tickFormatter={(v: number) => format(v)}
            tick={{ fontSize: 11, fill: '#475569' }}
            width={84}
          />
          <Tooltip
            labelFormatter={(v) => formatWhen(Number(v))}
            formatter={(v, name) => [v === null || v === undefined ? '—' : format(Number(v)), name]}
          />
          {series.length > 1 ? <Legend wrapperStyle={{ fontSize: 12 }} /> : null}
          {series.map((s) => (
            <Line key={s.key} dataKey={s.key} name={s.name} stroke={s.color} strokeWidth={1.5} dot={false} isAnimationActive={false} connectNulls={false} />
          ))}
        </LineChart>
      </div>
    </figure>
  );
}
