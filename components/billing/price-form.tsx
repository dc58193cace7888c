'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, TextField } from '../ui/field';
import { Card } from '../ui/page';
import { microToDecimal, parseMoney } from './money';
import { useFieldErrors } from '../ui/field-errors';

type PriceVersion = RouterOutputs['admin']['prices']['list'][number];
const PRICES = [
  { key: 'vcpuHour', label: 'vCPU per hour', what: 'the vCPU price' },
  { key: 'memoryGiBHour', label: 'Memory per GiB-hour', what: 'the memory price' },
  { key: 'diskGiBHour', label: 'Disk per GiB-hour', what: 'the disk price' },
  { key: 'nicHour', label: 'Network interface per hour', what: 'the network interface price' },
  { key: 'bandwidthMbitHour', label: 'NIC rate per Mbit/s-hour', what: 'the bandwidth price' },
  { key: 'portForwardHour', label: 'Port forward per hour', what: 'the port forward price' },
  { key: 'savedStateGiBHour', label: 'Saved state per GiB-hour', what: 'the saved state price' },
  { key: 'snapshotGiBHour', label: 'Snapshot storage per GiB-hour', what: 'the snapshot price' },
  { key: 'imageGiBHour', label: 'Image storage per GiB-hour', what: 'the image price' },
  { key: 'volumeGiBHour', label: 'Volume storage per GiB-hour', what: 'the volume price' },
  { key: 'volumeIopsHour', label: 'Provisioned IOPS per IOPS-hour', what: 'the IOPS price' },
  { key: 'volumeMbpsHour', label: 'Provisioned throughput per MB/s-hour', what: 'the throughput price' },
] as const;
type PriceKey = (typeof PRICES)[number]['key'];
type Errors = Partial<Record<PriceKey | 'currency' | 'effectiveFrom', string>>;

/** "2026-11-23T18:30" in the browser's time zone, as datetime-local inputs want it. */
function localInputValue(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A new price version: amounts in currency units per unit-hour (6 decimals), sent as integer micro-units. */
export function PriceForm({ current }: { current: PriceVersion | undefined }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [currency, setCurrency] = useState(current?.currency ?? 'USD');
  const [prices, setPrices] = useState<Record<PriceKey, string>>(
    () => Object.fromEntries(PRICES.map((p) => [p.key, current ? microToDecimal(current[p.key]) : ''])) as Record<PriceKey, string>,
  );
  const [effectiveFrom, setEffectiveFrom] = useState('');
  const { errors, setErrors, clear: edit, fromServer } = useFieldErrors<keyof Errors>(['currency', 'effectiveFrom', ...PRICES.map((p) => p.key)]);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const set = useMutation(
    trpc.admin.prices.set.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.prices.pathKey() }) }),
  );

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const errs: Errors = {};
    const micro = {} as Record<PriceKey, number>;
    for (const p of PRICES) {
      const parsed = parseMoney(prices[p.key], p.what);
      if ('error' in parsed) errs[p.key] = parsed.error;
      else micro[p.key] = parsed.micro;
    }
    const code = currency.trim().toUpperCase();
    if (!/^[A-Z]{3}$/.test(code)) errs.currency = 'Use a three-letter currency code, like USD.';
    let from: Date | undefined;
    if (effectiveFrom) {
      from = new Date(effectiveFrom);
      if (Number.isNaN(from.getTime())) errs.effectiveFrom = 'Enter a date and time, or leave it empty for now.';
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    try {
      const row = await set.mutateAsync({ currency: code, ...micro, effectiveFrom: from });
      setMessage({ text: `New prices saved, in force from ${row.effectiveFrom.toLocaleString()}.`, tone: 'success' });
      setEffectiveFrom('');
    } catch (err) {
      setMessage({ text: fromServer(err).message, tone: 'error' });
    }
  }

  return (
    <Card title="Set new prices" description="Enter prices in currency units per unit-hour, with up to 6 decimals (a micro-unit). They never apply to the past.">
      <form onSubmit={onSubmit} noValidate aria-label="Set new prices" className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
          <TextField
            label="Currency"
            name="currency"
            value={currency}
            maxLength={3}
            autoComplete="off"
            onChange={(e) => {
              edit('currency');
              setCurrency(e.target.value);
            }}
            error={errors.currency}
            hint="One currency for all invoices."
          />
          <TextField
            label="Effective from (optional)"
            name="effectiveFrom"
            type="datetime-local"
            value={effectiveFrom}
            min={localInputValue(new Date())}
            onChange={(e) => {
              edit('effectiveFrom');
              setEffectiveFrom(e.target.value);
            }}
            error={errors.effectiveFrom}
            hint="Your local time. Empty means now."
          />
          {PRICES.map((p) => (
            <TextField
              key={p.key}
              label={`${p.label} (${currency.trim().toUpperCase() || 'currency'})`}
              name={p.key}
              inputMode="decimal"
              autoComplete="off"
              value={prices[p.key]}
              onChange={(e) => {
                edit(p.key);
                setPrices((old) => ({ ...old, [p.key]: e.target.value }));
              }}
              error={errors[p.key]}
            />
          ))}
        </div>
        <Button type="submit" busy={set.isPending}>
          Save prices
        </Button>
      </form>
    </Card>
  );
}
