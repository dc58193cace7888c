'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc/client';

const money = (micro: number, currency: string) =>
  (micro / 1e6).toLocaleString(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** What the chosen size costs per hour and per month, at the prices in force. */
export function LaunchEstimate({
  tenantId,
  size,
}: {
  tenantId: string;
  /** `bandwidthMbit`: the NICs' rates added up (the server assumes 100 Mbit/s per NIC without it). */
  size: { vcpus: number; memoryMiB: number; diskGiB: number; nics: number; bandwidthMbit?: number };
}) {
  const trpc = useTRPC();
  const valid = [size.vcpus, size.memoryMiB, size.diskGiB, size.nics].every((n) => Number.isInteger(n) && n > 0);
  const estimate = useQuery({ ...trpc.billing.estimate.queryOptions({ tenantId, ...size }), enabled: valid, placeholderData: (prev) => prev });
  if (!valid) return <p className="text-sm text-slate-600">Set a valid size to see its cost.</p>;
  if (!estimate.data) return <p role="status">Estimating…</p>;
  const e = estimate.data;
  return (
    <dl className="grid grid-cols-2 gap-2 text-sm" aria-label="Cost estimate">
      <dt className="text-slate-600">Per hour while running</dt>
      <dd className="text-right font-medium tabular-nums">{money(e.hourlyMicro, e.currency)}</dd>
      <dt className="text-slate-600">Per month ({e.hoursPerMonth} h)</dt>
      <dd className="text-right font-medium tabular-nums">{money(e.monthlyMicro, e.currency)}</dd>
      <dd className="col-span-2 text-xs text-slate-500">
        vCPU, memory and network bandwidth are billed while it runs (at least 60 s a run), disk and network interfaces until it is terminated.
      </dd>
    </dl>
  );
}
