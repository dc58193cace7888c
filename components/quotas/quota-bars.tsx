import { useId } from 'react';
import { quotaOutlook, type Quota, type QuotaRequest } from './quota-outlook';

/**
 * One bar per quota: used (solid), what a launch would add (striped) and the
 * limit (the full width). Red with the reason when the addition won't fit.
 * The server still decides; this is the quick answer.
 */
export function QuotaBars({ quotas, request = {}, label = 'Quota usage' }: { quotas: Quota[]; request?: QuotaRequest; label?: string }) {
  return (
    <ul aria-label={label} className="space-y-3">
      {quotas.map((q) => (
        <QuotaBar key={q.resource} quota={q} request={request[q.resource] ?? 0} />
      ))}
    </ul>
  );
}

function QuotaBar({ quota: q, request }: { quota: Quota; request: number }) {
  const id = useId();
  const { after, fits, text, reason } = quotaOutlook(q, request);
  const pct = (n: number) => (q.limit > 0 ? Math.min(100, (n / q.limit) * 100) : n > 0 ? 100 : 0);
  const usedPct = pct(q.used);
  const addPct = Math.max(0, pct(after) - usedPct);
  return (
    <li className="space-y-1">
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 text-sm">
        <span id={`${id}-name`} className="font-medium text-slate-800">
          {q.name}
        </span>
        <span className={`tabular-nums ${fits ? 'text-slate-600' : 'font-medium text-red-700'}`}>{text}</span>
      </div>
      <div
        role="meter"
        aria-labelledby={`${id}-name`}
        aria-valuemin={0}
        aria-valuemax={q.limit}
        aria-valuenow={Math.min(after, q.limit)}
        aria-valuetext={text}
        aria-describedby={reason ? `${id}-reason` : undefined}
        className={`relative h-2.5 overflow-hidden rounded-full bg-slate-200 ${fits ? '' : 'ring-2 ring-red-600'}`}
      >
        <div className={`absolute inset-y-0 left-0 ${fits ? 'bg-sky-700' : 'bg-red-700'}`} style={{ width: `${usedPct}%` }} />
        {addPct > 0 ? (
          <div
            className={`absolute inset-y-0 ${fits ? 'bg-sky-400' : 'bg-red-400'} bg-[repeating-linear-gradient(45deg,transparent_0_4px,rgba(255,255,255,.45)_4px_8px)]`}
            style={{ left: `${usedPct}%`, width: `${addPct}%` }}
          />
        ) : null}
      </div>
      {reason ? (
        <p id={`${id}-reason`} className="text-sm text-red-700">
          {reason}
        </p>
      ) : null}
    </li>
  );
}
