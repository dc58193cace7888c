'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { GiB } from '../../ui/format-bytes';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { useFieldErrors } from '../../ui/field-errors';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';

type Pool = RouterOutputs['admin']['storage']['list'][number];
const KEYS = ['capacityGiB'] as const;

/** One pool's capacity (GiB, never below what its volumes take) and whether it takes new volumes. */
export function PoolForm({ pool }: { pool: Pool }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [capacity, setCapacity] = useState(String(Math.floor(pool.capacityBytes / GiB)));
  const { errors, setErrors, clear, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const update = useMutation(
    trpc.admin.storage.update.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.storage.pathKey() }) }),
  );

  async function send(input: { capacityGiB?: number; enabled?: boolean }, done: string) {
    setMessage(null);
    try {
      await update.mutateAsync({ poolId: pool.id, ...input });
      setMessage({ text: done, tone: 'success' });
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (!onField) setMessage({ text, tone: 'error' });
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    // The server's rules (updatePoolInput, updatePool), checked here first: that module is not for the browser.
    const gib = capacity.trim() === '' ? NaN : Number(capacity);
    if (!Number.isInteger(gib) || gib < 1) {
      setErrors({ capacityGiB: 'Capacity is a whole number of GiB, at least 1.' });
      return;
    }
    if (gib < pool.allocatedGiB) {
      setErrors({ capacityGiB: `Its volumes already take ${pool.allocatedGiB} GiB: the capacity cannot be less.` });
      return;
    }
    setErrors({});
    void send({ capacityGiB: gib }, `${pool.name} now holds up to ${gib} GiB of volumes.`);
  }

  return (
    <Card title={`Pool ${pool.name}`} description={`A ${pool.kind} pool at ${pool.path} on host ${pool.hostName}.`}>
      <div className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <div className="flex flex-wrap items-center gap-3">
          <button
            type="button"
            role="switch"
            aria-checked={pool.enabled}
            aria-label={`${pool.name} in service`}
            disabled={update.isPending}
            onClick={() =>
              void send(
                { enabled: !pool.enabled },
                pool.enabled ? `${pool.name} is out of service: it takes no new volumes; its volumes stay usable.` : `${pool.name} takes new volumes again.`,
              )
            }
            className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 disabled:opacity-50 ${
              pool.enabled ? 'bg-emerald-600' : 'bg-slate-300'
            }`}
          >
            <span aria-hidden className={`inline-block size-5 rounded-full bg-white shadow transition ${pool.enabled ? 'translate-x-5' : 'translate-x-0.5'}`} />
          </button>
          <span className="text-sm text-slate-800">{pool.enabled ? 'In service: new volumes may be made here' : 'Out of service: no new volumes are made here'}</span>
        </div>
        <form onSubmit={onSubmit} noValidate aria-label={`Capacity of ${pool.name}`} className="flex flex-wrap items-end gap-3">
          <div className="w-48">
            <TextField
              label="Capacity (GiB)"
              name="capacityGiB"
              type="number"
              inputMode="numeric"
              min={Math.max(1, pool.allocatedGiB)}
              value={capacity}
              onChange={(e) => {
                clear('capacityGiB');
                setCapacity(e.target.value);
              }}
              error={errors.capacityGiB}
              hint={`At least the ${pool.allocatedGiB} GiB its volumes take.`}
            />
          </div>
          <Button type="submit" busy={update.isPending}>
            Save capacity
          </Button>
        </form>
      </div>
    </Card>
  );
}
