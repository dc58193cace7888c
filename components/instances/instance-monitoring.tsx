'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { formatBytes } from '../ui/format-bytes';
import type { Instance } from './format';
import { MonitoringChart } from './monitoring-chart';
import { chartRows, formatPct, formatRate, NET_NOT_MEASURED, RANGE_OPTIONS, summaries, type MetricsRange } from './monitoring-format';

/** Until the server has said how often it samples. */
const DEFAULT_SAMPLE_SECONDS = 10;

function RangePicker({ value, onChange }: { value: MetricsRange; onChange: (r: MetricsRange) => void }) {
  const name = useId();
  return (
    <fieldset>
      <legend className="sr-only">Time range</legend>
      <div className="inline-flex overflow-hidden rounded-md border border-slate-300 text-sm shadow-sm">
        {RANGE_OPTIONS.map((o) => (
          <label
            key={o.value}
            className="relative cursor-pointer border-l border-slate-300 px-3 py-1.5 text-slate-700 first:border-l-0 hover:bg-slate-50 has-[:checked]:bg-sky-700 has-[:checked]:text-white has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-sky-500 has-[:focus-visible]:ring-inset"
          >
            <input
              type="radio"
              name={name}
              value={o.value}
              checked={value === o.value}
              onChange={() => onChange(o.value)}
              // Over the whole label, invisible: the radio itself takes the click, the key and the focus.
              className="absolute inset-0 cursor-pointer appearance-none opacity-0"
            />
            {o.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/**
 * The Monitoring card: CPU, memory, disk and network of the guest over the
 * last hour, day or week, as its host sampled them. The hour view follows new
 * samples as they are taken.
 */
export function InstanceMonitoring({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const [range, setRange] = useState<MetricsRange>('1h');
  const netId = useId();
  const gone = instance.state === 'terminated';
  const metrics = useQuery({
    ...trpc.instances.metrics.queryOptions({ tenantId: tenant.id, instanceId: instance.id, range }),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (range === '1h' && !gone ? (q.state.data?.sampleSeconds ?? DEFAULT_SAMPLE_SECONDS) * 1000 : false),
  });
  const m = metrics.data;
  const every = m?.sampleSeconds ?? DEFAULT_SAMPLE_SECONDS;
  const said = m && m.range === range ? summaries(m, range) : null;

  let body;
  if (metrics.error) body = <FormAlert message={describeError(metrics.error).message} />;
  else if (!m) body = <p role="status" className="text-sm text-slate-600">Loading samples…</p>;
  else if (!said) {
    const span = RANGE_OPTIONS.find((r) => r.value === range)!.span;
    body = (
      <p role="status" className="rounded-md border border-dashed border-slate-300 px-4 py-8 text-center text-sm text-slate-600">
        {instance.state === 'running'
          ? `No samples yet — they start within ${2 * every} s of the instance running.`
          : `No samples from ${span}: they are taken while the instance runs.`}
      </p>
    );
  } else {
    const rows = chartRows(m);
    const shared = { rows, range: m.range, from: m.from, to: m.to };
    const measuredNet = m.points.some((p) => p.netRxBps !== null);
    body = (
      <div className="grid gap-6 md:grid-cols-2">
        <MonitoringChart
          title="CPU"
          summary={said.cpu}
          format={formatPct}
          yMax={100}
          series={
            m.resolutionSeconds === every
              ? [{ key: 'cpuPct', name: 'CPU', color: '#0369a1' }]
              : [
                  { key: 'cpuPct', name: 'Mean', color: '#0369a1' },
                  { key: 'cpuPctMax', name: 'Peak', color: '#7dd3fc' },
                ]
          }
          {...shared}
        />
        <MonitoringChart
          title="Memory"
          summary={said.memory}
          format={(v) => formatBytes(Math.round(v))}
          series={[
            { key: 'memoryResidentBytes', name: 'Resident on the host', color: '#6d28d9' },
            { key: 'memoryTotalBytes', name: 'Given', color: '#94a3b8' },
          ]}
          {...shared}
        />
        <MonitoringChart
          title="Disk throughput"
          summary={said.disk}
          format={formatRate}
          series={[
            { key: 'diskReadBps', name: 'Read', color: '#0369a1' },
            { key: 'diskWriteBps', name: 'Write', color: '#c2410c' },
          ]}
          {...shared}
        />
        {measuredNet ? (
          <MonitoringChart
            title="Network throughput"
            summary={said.network}
            format={formatRate}
            series={[
              { key: 'netRxBps', name: 'Received', color: '#047857' },
              { key: 'netTxBps', name: 'Sent', color: '#b45309' },
            ]}
            {...shared}
          />
        ) : (
          <figure aria-labelledby={netId} className="space-y-2">
            <figcaption id={netId} className="text-sm font-medium text-slate-800">
              Network throughput
            </figcaption>
            <p className="rounded-md border border-dashed border-slate-300 px-4 py-8 text-sm text-slate-600">{NET_NOT_MEASURED}</p>
          </figure>
        )}
      </div>
    );
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <RangePicker value={range} onChange={setRange} />
        {m ? (
          <p className="text-xs text-slate-500">
            {m.resolutionSeconds === every ? `A point every ${every} s` : `Each point the mean of ${m.resolutionSeconds >= 60 ? `${m.resolutionSeconds / 60} min` : `${m.resolutionSeconds} s`}`}
            {range === '1h' && !gone ? '; updates as samples are taken.' : '.'} CPU is of the instance’s {instance.vcpus} vCPU.
          </p>
        ) : null}
      </div>
      {body}
    </div>
  );
}
