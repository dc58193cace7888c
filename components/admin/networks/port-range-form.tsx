'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { useFieldErrors } from '../../ui/field-errors';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';

const KEYS = ['from', 'to'] as const;

const port = (text: string): number | undefined => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined);
const forwards = (n: number) => `${n.toLocaleString('en')} port forward${n === 1 ? '' : 's'}`;

/** The host ports tenants' port forwards are allocated from; forwards outside a new range keep working. */
export function PortRangeForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const range = useQuery(trpc.admin.networks.portRange.queryOptions(undefined, { refetchInterval: 15_000 }));
  const save = useMutation(trpc.admin.networks.setPortRange.mutationOptions());
  const [from, setFrom] = useState<string | null>(null);
  const [to, setTo] = useState<string | null>(null);
  const { errors, setErrors, clear, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  // Until edited, the fields show the range in force.
  const shownFrom = from ?? (range.data ? String(range.data.from) : '');
  const shownTo = to ?? (range.data ? String(range.data.to) : '');

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const f = port(shownFrom);
    const t = port(shownTo);
    const errs: Partial<Record<(typeof KEYS)[number], string>> = {};
    if (f === undefined) errs.from = 'Enter a whole port number.';
    if (t === undefined) errs.to = 'Enter a whole port number.';
    setErrors(errs);
    if (f === undefined || t === undefined) return;
    try {
      const saved = await save.mutateAsync({ from: f, to: t });
      queryClient.setQueryData(trpc.admin.networks.portRange.queryKey(), saved);
      setFrom(null);
      setTo(null);
      setMessage({
        text: `Port forwards now get host ports ${saved.from}–${saved.to}.${saved.outside ? ` ${forwards(saved.outside)} outside it keep their ports.` : ''}`,
        tone: 'success',
      });
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (!onField) setMessage({ text, tone: 'error' });
    }
  }

  const r = range.data;
  return (
    <Card title="Port-forward range" description="The host ports new port forwards are given. Changing it moves no existing forward.">
      {range.error ? <FormAlert message={describeError(range.error).message} /> : null}
      {r ? (
        <p role="status" aria-label="Port forwards in use" className="mb-4 text-sm text-slate-700">
          {forwards(r.forwards)} exist{r.forwards === 1 ? 's' : ''};{' '}
          {r.outside ? <span className="font-medium text-amber-800">{r.outside.toLocaleString('en')} fall outside {r.from}–{r.to}</span> : `none falls outside ${r.from}–${r.to}`}.
        </p>
      ) : (
        <p role="status">Loading the range…</p>
      )}
      <form onSubmit={onSubmit} noValidate aria-label="Port-forward range" className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <div className="grid gap-4 sm:grid-cols-2 lg:max-w-md">
          <TextField
            label="From port"
            name="from"
            inputMode="numeric"
            autoComplete="off"
            value={shownFrom}
            error={errors.from}
            onChange={(e) => {
              clear('from');
              setFrom(e.target.value);
            }}
          />
          <TextField
            label="To port"
            name="to"
            inputMode="numeric"
            autoComplete="off"
            value={shownTo}
            error={errors.to}
            onChange={(e) => {
              clear('to');
              setTo(e.target.value);
            }}
          />
        </div>
        <Button type="submit" busy={save.isPending}>
          Save range
        </Button>
      </form>
    </Card>
  );
}
