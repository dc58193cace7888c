'use client';

import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable } from '../ui/table';
import { formatMoney, formatMonth, invoiceCsvHref, resourceInfo, type BillingSummary, type Invoice } from './money';
import { Badge } from '../ui/badge';

const linkClass = 'font-medium text-sky-800 underline-offset-2 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500';

/** This month's running invoice and the past months', each with its lines and a CSV download. */
export function InvoicesPanel({ summary: s }: { summary: BillingSummary }) {
  const tenant = useTenant();
  const months = [s.month, ...s.pastMonths.filter((m) => m !== s.month)];
  return (
    <Card title="Invoices" description="One per calendar month (UTC). This month's is running and changes until the month ends.">
      <ul aria-label="Invoices" className="divide-y divide-slate-100">
        {months.map((m) => (
          <InvoiceItem key={m} tenantId={tenant.id} month={m} current={m === s.month} />
        ))}
      </ul>
      {s.pastMonths.length === 0 ? <p className="mt-2 text-xs text-slate-500">Past months appear here once they have usage.</p> : null}
    </Card>
  );
}

function InvoiceItem({ tenantId, month, current }: { tenantId: string; month: string; current: boolean }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const name = formatMonth(month);
  return (
    <li className="py-3">
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <span className="min-w-40 font-medium text-slate-900">
          {name}
          {current ? <Badge tone="sky" className="ml-2">to date</Badge> : null}
        </span>
        <Button variant="secondary" aria-expanded={open} aria-controls={`${id}-lines`} onClick={() => setOpen((o) => !o)}>
          {open ? `Hide ${name} lines` : `Show ${name} lines`}
        </Button>
        <a href={invoiceCsvHref(tenantId, month)} download className={linkClass}>
          {current ? `Download this month's invoice (CSV)` : `Download ${name} invoice (CSV)`}
        </a>
      </div>
      <div id={`${id}-lines`} hidden={!open} className="mt-3">
        {open ? <InvoiceLines tenantId={tenantId} month={month} /> : null}
      </div>
    </li>
  );
}

type Line = Invoice['lines'][number];

function InvoiceLines({ tenantId, month }: { tenantId: string; month: string }) {
  const trpc = useTRPC();
  const inv = useQuery(trpc.billing.invoice.queryOptions({ tenantId, month }));
  if (inv.isPending) return <p role="status">Loading the invoice…</p>;
  if (inv.error) return <FormAlert message={describeError(inv.error).message} />;
  const { currency, lines } = inv.data;
  const name = formatMonth(month);
  if (lines.length === 0) return <p className="text-sm text-slate-600">Nothing was billed in {name}.</p>;
  const amount = 'text-right tabular-nums whitespace-nowrap';
  return (
    <div className="space-y-2">
      <DataTable<Line>
        caption={`Invoice lines, ${name}`}
        rowKey={(l) => `${l.instanceId ?? l.imageId ?? l.volumeId}:${l.resource}`}
        rows={lines}
        columns={[
          { header: 'Instance', cell: (l) => l.instanceName ?? (l.imageId ? `Image “${l.imageName}”` : `Volume “${l.volumeName}”`) },
          { header: 'Resource', cell: (l) => resourceInfo(l.resource).name },
          { header: 'Seconds', cell: (l) => Math.round(l.seconds).toLocaleString(), className: amount },
          { header: 'Unit-seconds', cell: (l) => Math.round(l.unitSeconds).toLocaleString(), className: amount },
          { header: 'Amount', cell: (l) => formatMoney(l.amountMicro, currency), className: amount },
        ]}
      />
      <p className="text-right text-sm font-medium text-slate-900">
        Total: <span className="tabular-nums">{formatMoney(inv.data.totalMicro, currency)}</span>
        {inv.data.final ? ' (final)' : ' (so far)'}
      </p>
    </div>
  );
}
