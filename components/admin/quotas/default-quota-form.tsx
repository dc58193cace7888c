'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { LIMITS, parseLimit, type LimitKey, type QuotaLimits } from './limits';
import { useFieldErrors } from '../../ui/field-errors';

type Errors = Partial<Record<LimitKey, string>>;

/** The quotas every tenant gets unless it has an override. All five limits are required. */
export function DefaultQuotaForm({ current }: { current: QuotaLimits }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<LimitKey, string>>(
    () => Object.fromEntries(LIMITS.map((l) => [l.key, String(current[l.key])])) as Record<LimitKey, string>,
  );
  const { errors, setErrors, clear, fromServer } = useFieldErrors<LimitKey>(LIMITS.map((l) => l.key));
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const save = useMutation(
    trpc.admin.quotas.setDefaults.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.quotas.getDefaults.queryKey() }) }),
  );

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const errs: Errors = {};
    const limits = {} as QuotaLimits;
    for (const l of LIMITS) {
      const parsed = parseLimit(values[l.key], l.what, l.max);
      if ('error' in parsed) errs[l.key] = parsed.error;
      else limits[l.key] = parsed.value;
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    try {
      await save.mutateAsync(limits);
      setMessage({ text: 'Default quotas saved.', tone: 'success' });
    } catch (err) {
      setMessage({ text: fromServer(err).message, tone: 'error' });
    }
  }

  return (
    <Card title="Default quotas" description="What a tenant without an override may use in total.">
      <form onSubmit={onSubmit} noValidate aria-label="Default quotas" className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
          {LIMITS.map((l) => (
            <TextField
              key={l.key}
              label={l.label}
              name={l.key}
              inputMode="numeric"
              autoComplete="off"
              value={values[l.key]}
              onChange={(e) => {
                clear(l.key);
                setValues((old) => ({ ...old, [l.key]: e.target.value }));
              }}
              error={errors[l.key]}
            />
          ))}
        </div>
        <Button type="submit" busy={save.isPending}>
          Save defaults
        </Button>
      </form>
    </Card>
  );
}
