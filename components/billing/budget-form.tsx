'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert, TextField } from '../ui/field';
import { microToDecimal, parseMoney, type BillingSummary } from './money';

export const HARD_CAP_EXPLAINED =
  'With a hard cap, once the month-to-date cost reaches the budget Cirrus refuses new launches and starts and stops running instances. ' +
  'Stopped instances keep their disks and network interfaces, which cost until they are terminated.';

const OWNER_REASON = 'Only owners of this tenant can change its budget.';

/** Set, change or remove the monthly budget (owners only; others see it disabled with the reason). */
export function BudgetForm({ currency, budget }: { currency: string; budget: BillingSummary['budget'] }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const capHintId = useId();
  const notAllowed = tenant.role === 'owner' ? undefined : OWNER_REASON;
  // The form starts from the saved budget; after a save it follows what was saved.
  const [amount, setAmount] = useState(budget ? microToDecimal(budget.monthlyMicro) : '');
  const [hardCap, setHardCap] = useState(budget?.hardCap ?? false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const set = useMutation(
    trpc.billing.budget.set.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() }),
    }),
  );

  async function save(monthlyMicro: number | null, cap: boolean) {
    setMessage(null);
    try {
      await set.mutateAsync({ tenantId: tenant.id, monthlyMicro, hardCap: cap });
      setMessage({ text: monthlyMicro === null ? 'The budget was removed.' : 'The budget was saved.', tone: 'success' });
      if (monthlyMicro === null) {
        setAmount('');
        setHardCap(false);
      }
    } catch (err) {
      const { message: text, fieldErrors } = describeError(err);
      if (fieldErrors.monthlyMicro) setError(fieldErrors.monthlyMicro[0] ?? text);
      else setMessage({ text, tone: 'error' });
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const parsed = parseMoney(amount, 'a monthly amount');
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    setError(null);
    void save(parsed.micro, hardCap);
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Monthly budget" className="space-y-4">
      <FormAlert message={message?.text} tone={message?.tone} />
      {notAllowed ? <p className="text-sm text-slate-600">{notAllowed}</p> : null}
      <TextField
        label={`Monthly budget (${currency})`}
        name="monthlyBudget"
        inputMode="decimal"
        autoComplete="off"
        value={amount}
        onChange={(e) => {
          setError(null);
          setAmount(e.target.value);
        }}
        error={error ?? undefined}
        hint="Up to 6 decimals, e.g. 25 or 0.50."
        disabled={Boolean(notAllowed)}
      />
      <div>
        <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
          <input
            type="checkbox"
            name="hardCap"
            className="size-4"
            checked={hardCap}
            onChange={(e) => setHardCap(e.target.checked)}
            disabled={Boolean(notAllowed)}
            aria-describedby={capHintId}
          />
          Hard cap
        </label>
        <p id={capHintId} className="mt-1 text-xs text-slate-500">
          {HARD_CAP_EXPLAINED}
        </p>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" busy={set.isPending && set.variables?.monthlyMicro !== null} disabledReason={notAllowed}>
          Save budget
        </Button>
        {budget ? (
          <ConfirmButton
            question="Remove the budget? Costs will no longer be limited."
            confirmLabel="Remove"
            onConfirm={() => void save(null, false)}
            busy={set.isPending && set.variables?.monthlyMicro === null}
            disabledReason={notAllowed}
          >
            Remove budget
          </ConfirmButton>
        ) : null}
      </div>
    </form>
  );
}
