'use client';

import { useState } from 'react';
import { useTenant } from '../shell/tenant-context';
import { TextField } from '../ui/field';
import { Card } from '../ui/page';
import { ledgerCsvHref, ledgerPeriod, todayUtc } from './money';

/** The raw usage segments (start, end, quantity) overlapping whole UTC days, as CSV. */
export function LedgerExport() {
  const tenant = useTenant();
  const [today] = useState(() => todayUtc());
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const period = ledgerPeriod(from, to);
  const error = 'error' in period ? period.error : undefined;
  return (
    <Card title="Usage ledger" description="Every usage segment (instance, resource, quantity, start and end) that overlaps the days you pick, as CSV.">
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_auto] sm:items-start">
        <TextField label="First day (UTC)" type="date" name="ledgerFrom" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />
        <TextField label="Last day (UTC)" type="date" name="ledgerTo" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} error={error} />
        <div className="sm:pt-6">
          {'error' in period ? (
            <span aria-disabled="true" title={period.error} className="inline-flex cursor-not-allowed rounded-md border border-slate-200 px-3 py-2 text-sm text-slate-400">
              Download ledger (CSV)
            </span>
          ) : (
            <a
              href={ledgerCsvHref(tenant.id, period.from, period.to)}
              download
              className="inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2"
            >
              Download ledger (CSV)
            </a>
          )}
        </div>
      </div>
    </Card>
  );
}
