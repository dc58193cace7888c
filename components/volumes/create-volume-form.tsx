'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { currentPrices } from '@/server/billing/prices';
import { createVolumeInput, MAX_VOLUME_GIB, VOLUME_IO, volumeHourlyMicro } from '@/server/storage/validation';
import { formatMoney } from '../billing/money';
import { roleReason } from '../instances/format';
import { QuotaBars } from '../quotas/quota-bars';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';

export type VolumePrices = Pick<Awaited<ReturnType<typeof currentPrices>>, 'currency' | 'volumeGiBHour' | 'volumeIopsHour' | 'volumeMbpsHour'>;

const KEYS = ['name', 'sizeGiB', 'iops', 'mbps'] as const;
type Key = (typeof KEYS)[number];
const RESOURCES = ['volumes', 'volumeGiB'];

/** "" → undefined (the schema's default or its "give a size"), anything else → a number the schema judges. */
const numberOrUndefined = (s: string) => (s.trim() === '' ? undefined : Number(s));

/**
 * A new blank volume: name, size and the I/O it is provisioned with. What it
 * costs an hour and what it does to the tenant's volume quotas show as it is
 * typed; the server's own schema checks it before it is sent.
 */
export function CreateVolumeForm({ prices, hoursPerMonth }: { prices: VolumePrices; hoursPerMonth: number }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const quotas = useQuery(trpc.quotas.get.queryOptions({ tenantId: tenant.id }));
  const create = useMutation(trpc.volumes.create.mutationOptions());
  const [values, setValues] = useState<Record<Key, string>>({
    name: '',
    sizeGiB: '1',
    iops: String(VOLUME_IO.iops.baseline),
    mbps: String(VOLUME_IO.mbps.baseline),
  });
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // After a refused submit (only then: not while the user edits), take the reader to the first field to fix.
  const [refusals, setRefusals] = useState(0);
  useEffect(() => {
    if (refusals > 0) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [refusals]);

  const size = Number(values.sizeGiB);
  const iops = Number(values.iops);
  const mbps = Number(values.mbps);
  const priced = [size, iops, mbps].every((n) => Number.isInteger(n) && n > 0) && values.sizeGiB.trim() !== '';
  const hourly = priced ? volumeHourlyMicro({ sizeGiB: size, iops, mbps }, prices) : null;
  const request = { volumes: 1, volumeGiB: Number.isInteger(size) && size > 0 ? size : 0 };

  const set = (k: Key) => (e: { target: { value: string } }) => {
    clear(k);
    setValues((v) => ({ ...v, [k]: e.target.value }));
  };

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const parsed = createVolumeInput.safeParse({
      name: values.name,
      sizeGiB: numberOrUndefined(values.sizeGiB),
      iops: numberOrUndefined(values.iops),
      mbps: numberOrUndefined(values.mbps),
    });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      setRefusals((n) => n + 1);
      return;
    }
    setErrors({});
    try {
      const made = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setValues((v) => ({ ...v, name: '' }));
      setMessage({ text: `Creating volume ${made.name} (${made.id}, ${made.sizeGiB} GiB)…`, tone: 'success' });
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (onField) setRefusals((n) => n + 1);
      else setMessage({ text, tone: 'error' });
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.volumes.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    }
  }

  const number = (k: Key, label: string, hint: string, min: number, max: number) => (
    <TextField
      label={label}
      name={k}
      type="number"
      inputMode="numeric"
      min={min}
      max={max}
      value={values[k]}
      onChange={set(k)}
      error={errors[k]}
      hint={hint}
    />
  );

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="Create volume" className="space-y-4">
      <FormAlert message={message?.text} tone={message?.tone} />
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <TextField label="Name" name="name" required maxLength={64} autoComplete="off" placeholder="data" value={values.name} onChange={set('name')} error={errors.name} />
        {number('sizeGiB', 'Size (GiB)', `1 to ${MAX_VOLUME_GIB} GiB.`, 1, MAX_VOLUME_GIB)}
        {number('iops', 'IOPS', `${VOLUME_IO.iops.min} to ${VOLUME_IO.iops.max}; ${VOLUME_IO.iops.baseline} are included.`, VOLUME_IO.iops.min, VOLUME_IO.iops.max)}
        {number('mbps', 'Throughput (MB/s)', `${VOLUME_IO.mbps.min} to ${VOLUME_IO.mbps.max}; ${VOLUME_IO.mbps.baseline} are included.`, VOLUME_IO.mbps.min, VOLUME_IO.mbps.max)}
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <div>
          <h3 className="mb-2 text-sm font-semibold text-slate-900">Quota after creating it</h3>
          {quotas.data ? (
            <QuotaBars quotas={quotas.data.filter((q) => RESOURCES.includes(q.resource))} request={request} label="Quota after creating it" />
          ) : (
            <p role="status">Loading quotas…</p>
          )}
        </div>
        <div>
          <h3 className="mb-2 text-sm font-semibold text-slate-900">Cost</h3>
          {hourly === null ? (
            <p className="text-sm text-slate-600">Set a valid size, IOPS and throughput to see its cost.</p>
          ) : (
            <dl className="grid grid-cols-2 gap-2 text-sm" aria-label="Volume cost">
              <dt className="text-slate-600">Per hour</dt>
              <dd className="text-right font-medium tabular-nums">{formatMoney(hourly, prices.currency)}</dd>
              <dt className="text-slate-600">Per month ({hoursPerMonth} h)</dt>
              <dd className="text-right font-medium tabular-nums">{formatMoney(hourly * hoursPerMonth, prices.currency)}</dd>
              <dd className="col-span-2 text-xs text-slate-500">
                Billed while it exists, attached or not: its size, and the IOPS above {VOLUME_IO.iops.baseline} and MB/s above {VOLUME_IO.mbps.baseline}.
              </dd>
            </dl>
          )}
        </div>
      </div>
      <Button type="submit" busy={create.isPending} disabledReason={roleReason(tenant.role, 'volumes')}>
        Create volume
      </Button>
    </form>
  );
}
