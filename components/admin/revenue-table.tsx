'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useState } from 'react';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { DataTable } from '../ui/table';

const thisMonth = () => new Date().toISOString().slice(0, 7);
const money = (micro: number, currency: string) =>
  (micro / 1e6).toLocaleString(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** Revenue per tenant for a chosen month. */
export function RevenueTable() {
  const trpc = useTRPC();
  const id = useId();
  const [month, setMonth] = useState(thisMonth);
  const revenue = useQuery(trpc.admin.revenue.list.queryOptions({ month }, { enabled: /^\d{4}-\d{2}$/.test(month) }));
  return (
    <div className="space-y-3">
      <div className="flex items-center gap-2">
        <label htmlFor={id} className="text-sm font-medium text-slate-800">
          Month
        </label>
        <input id={id} type="month" value={month} onChange={(e) => setMonth(e.target.value)} className="rounded-md border border-slate-300 px-2 py-1 text-sm" />
      </div>
      {revenue.error ? <FormAlert message={describeError(revenue.error).message} /> : null}
      {revenue.isPending ? <p role="status">Loading revenue…</p> : null}
      {revenue.data ? (
        revenue.data.tenants.length === 0 ? (
          <p className="text-sm text-slate-600">No usage in {revenue.data.month}.</p>
        ) : (
          <>
            <DataTable
              caption={`Revenue per tenant, ${revenue.data.month}`}
              rows={revenue.data.tenants}
              rowKey={(t) => t.tenantId}
              columns={[
                { header: 'Tenant', cell: (t) => <Link href={`/t/${t.slug}/billing`} className="text-sky-700 underline">{t.name}</Link> },
                { header: 'Revenue', cell: (t) => money(t.totalMicro, revenue.data.currency), className: 'text-right tabular-nums' },
              ]}
            />
            <p className="text-sm font-medium">Total: {money(revenue.data.totalMicro, revenue.data.currency)}</p>
          </>
        )
      ) : null}
    </div>
  );
}
