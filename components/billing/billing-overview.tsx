'use client';

import { useQuery } from '@tanstack/react-query';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { BudgetPanel } from './budget-panel';
import { CostByInstance, CostByResource } from './cost-breakdown';
import { DailyCostChart } from './daily-cost-chart';
import { InvoicesPanel } from './invoices-panel';
import { LedgerExport } from './ledger-export';
import { formatMoney, formatMonth, type BillingSummary } from './money';

/** Costs tick by the second while instances run; the summary follows (React Query pauses while the tab is hidden). */
const POLL_MS = 5_000;

/** The tenant's billing page: month to date, forecast, breakdowns, budget, invoices and exports. */
export function BillingOverview() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const summary = useQuery({ ...trpc.billing.summary.queryOptions({ tenantId: tenant.id }), refetchInterval: POLL_MS });

  if (summary.isPending) return <p role="status">Loading costs…</p>;
  if (!summary.data) return <FormAlert message={describeError(summary.error).message} />;
  const s = summary.data;
  return (
    <div className="space-y-6">
      {/* A failed refresh keeps the last numbers on screen and says they may be stale. */}
      {summary.error ? <FormAlert message={`${describeError(summary.error).message} The figures below may be out of date.`} /> : null}
      <Totals summary={s} />
      <BillingRules />
      <DailyCostChart summary={s} />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <Card title="Cost by instance" description={`${formatMonth(s.month)} to date, terminated instances included.`}>
          <CostByInstance summary={s} slug={tenant.slug} />
        </Card>
        <Card title="Cost by resource" description={`${formatMonth(s.month)} to date.`}>
          <CostByResource summary={s} />
        </Card>
      </div>
      <BudgetPanel summary={s} />
      <InvoicesPanel summary={s} />
      <LedgerExport />
    </div>
  );
}

function Totals({ summary: s }: { summary: BillingSummary }) {
  const asOf = s.asOf.toLocaleTimeString(undefined, { timeStyle: 'medium' });
  return (
    <section aria-label="Totals" className="grid grid-cols-1 gap-4 sm:grid-cols-2">
      <Figure label="Month to date" value={formatMoney(s.totalMicro, s.currency)} note={`${formatMonth(s.month)}, as of ${asOf}. Updates every few seconds.`} />
      <Figure
        label="Forecast to month end"
        value={formatMoney(s.forecastMicro, s.currency)}
        note={
          s.ratePerHourMicro > 0
            ? `If today's usage continues at ${formatMoney(s.ratePerHourMicro, s.currency)} per hour until the end of the month.`
            : `Nothing is accruing now (${formatMoney(0, s.currency)} per hour): no instance is running or holding a disk.`
        }
      />
    </section>
  );
}

/** A headline number: its label is the accessible name of the region, so tests and screen readers find it. */
function Figure({ label, value, note }: { label: string; value: string; note: string }) {
  return (
    <section aria-label={label} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
      <h2 className="text-sm font-medium text-slate-600">{label}</h2>
      <p className="mt-1 text-3xl font-semibold tabular-nums text-slate-900">
        {value}
      </p>
      <p className="mt-2 text-xs text-slate-500">{note}</p>
    </section>
  );
}

function BillingRules() {
  return (
    <details className="rounded-lg border border-slate-200 bg-white px-4 py-3 text-sm text-slate-700 shadow-sm">
      <summary className="cursor-pointer font-medium text-slate-900">How usage is billed</summary>
      <ul className="mt-2 list-disc space-y-1 pl-5">
        <li>vCPUs and memory are billed while an instance runs: each run for at least 60 seconds, then per second.</li>
        <li>Disk and network interfaces are billed while the instance exists, stopped or not, until it is terminated.</li>
        <li>Amounts are exact to a millionth of the currency unit; months and days are in UTC.</li>
      </ul>
    </details>
  );
}
