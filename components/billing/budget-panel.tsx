'use client';

import { useId } from 'react';
import { Card } from '../ui/page';
import { BudgetForm } from './budget-form';
import { formatMoney, type BillingSummary } from './money';

/** The monthly budget's standing (bar and warnings at 80 % and 100 %) and the owner's form to change it. */
export function BudgetPanel({ summary: s }: { summary: BillingSummary }) {
  return (
    <Card title="Budget" description="A monthly limit for this tenant's costs. Warnings show here at 80 % and 100 %.">
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <div>{s.budget ? <BudgetStanding summary={s} budget={s.budget} /> : <p className="text-sm text-slate-600">No budget is set: costs are not limited.</p>}</div>
        <BudgetForm currency={s.currency} budget={s.budget} />
      </div>
    </Card>
  );
}

function BudgetStanding({ summary: s, budget }: { summary: BillingSummary; budget: NonNullable<BillingSummary['budget']> }) {
  const id = useId();
  const pct = budget.usedPct;
  const level = pct >= 100 ? 'over' : pct >= 80 ? 'near' : 'ok';
  const text = `${formatMoney(s.totalMicro, s.currency)} of ${formatMoney(budget.monthlyMicro, s.currency)} used (${pct} %)`;
  const colour = { ok: 'bg-sky-700', near: 'bg-amber-500', over: 'bg-red-700' }[level];
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 text-sm">
        <span id={`${id}-name`} className="font-medium text-slate-800">
          This month
        </span>
        <span className={`tabular-nums ${level === 'over' ? 'font-medium text-red-700' : 'text-slate-600'}`}>{text}</span>
      </div>
      <div
        role="meter"
        aria-labelledby={`${id}-name`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.min(pct, 100)}
        aria-valuetext={text}
        className="relative h-2.5 overflow-hidden rounded-full bg-slate-200"
      >
        <div className={`absolute inset-y-0 left-0 ${colour}`} style={{ width: `${Math.min(pct, 100)}%` }} />
      </div>
      {level === 'over' ? (
        <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          100 % of the monthly budget is used.{' '}
          {budget.hardCap
            ? 'The hard cap is in force: launches and starts are refused and running instances are stopped until an owner raises the budget or the month ends.'
            : 'Nothing is stopped (no hard cap), but costs keep adding up.'}
        </p>
      ) : level === 'near' ? (
        <p role="alert" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          80 % of the monthly budget is used.{' '}
          {budget.hardCap ? 'At 100 % the hard cap stops running instances and refuses launches.' : 'At this pace the budget may run out this month.'}
        </p>
      ) : null}
      <p className="text-xs text-slate-500">
        {budget.hardCap ? 'Hard cap on: reaching the budget stops running instances and refuses launches.' : 'Hard cap off: the budget only warns; nothing is stopped.'}
      </p>
    </div>
  );
}
