'use client';

import { useId } from 'react';
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts';
import { Card } from '../ui/page';
import { DataTable } from '../ui/table';
import { formatDay, formatMoney, formatMonth, MICRO, type BillingSummary } from './money';

type Day = BillingSummary['daily'][number];

/** Cost per UTC day this month: a bar chart for the eye, the same numbers in a table for everyone else. */
export function DailyCostChart({ summary: s }: { summary: BillingSummary }) {
  const id = useId();
  const title = `Daily cost, ${formatMonth(s.month)}`;
  const max = s.daily.reduce((m, d) => Math.max(m, d.amountMicro), 0);
  const description =
    s.daily.length === 0
      ? 'No days yet this month.'
      : `One bar per day from ${formatDay(s.daily[0]!.day)} to ${formatDay(s.daily[s.daily.length - 1]!.day)}; the highest is ${formatMoney(max, s.currency)}. Today is still counting.`;
  const data = s.daily.map((d) => ({ ...d, label: formatDay(d.day), amount: d.amountMicro / MICRO }));
  return (
    <Card title={title} description="Times are UTC; today's bar grows while instances run.">
      <figure aria-labelledby={`${id}-caption`} aria-describedby={`${id}-desc`} className="space-y-3">
        <figcaption id={`${id}-caption`} className="sr-only">
          {title}
        </figcaption>
        <p id={`${id}-desc`} className="sr-only">
          {description}
        </p>
        <div className="h-60 w-full">
          <BarChart responsive data={data} title={title} desc={description} style={{ width: '100%', height: '100%' }} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#475569' }} interval="preserveStartEnd" />
            <YAxis
              tick={{ fontSize: 12, fill: '#475569' }}
              width={72}
              tickFormatter={(v: number) => formatMoney(Math.round(v * MICRO), s.currency)}
            />
            <Tooltip
              formatter={(v) => [formatMoney(Math.round(Number(v) * MICRO), s.currency), 'Cost']}
              cursor={{ fill: '#f1f5f9' }}
            />
            <Bar dataKey="amount" name="Cost" fill="#0369a1" radius={[3, 3, 0, 0]} isAnimationActive={false} />
          </BarChart>
        </div>
        <details>
          <summary className="cursor-pointer text-sm font-medium text-sky-800">Show the numbers</summary>
          <div className="mt-2">
            <DataTable<Day>
              caption={`${title}, by day`}
              rowKey={(d) => d.day}
              rows={s.daily}
              columns={[
                { header: 'Day (UTC)', cell: (d) => d.day, className: 'whitespace-nowrap' },
                { header: 'Cost', cell: (d) => formatMoney(d.amountMicro, s.currency), className: 'text-right tabular-nums whitespace-nowrap' },
              ]}
            />
          </div>
        </details>
      </figure>
    </Card>
  );
}
