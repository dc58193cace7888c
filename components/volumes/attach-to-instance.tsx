'use client';

import { useId, useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { Button } from '../ui/button';
import { attachWhyNot, type Volume } from './volume-rules';

type InstanceRow = RouterOutputs['instances']['list']['items'][number];

/** "Attach to…": a select of the tenant's running and stopped instances and an Attach button, for one volume's row. */
export function AttachToInstance({
  volume: v,
  instances,
  notAllowed,
  busy,
  onAttach,
}: {
  volume: Volume;
  instances: InstanceRow[] | undefined;
  notAllowed?: string;
  busy: boolean;
  onAttach: (instanceId: string) => void;
}) {
  const id = useId();
  const [instanceId, setInstanceId] = useState('');
  const choices = (instances ?? []).filter((i) => i.state === 'running' || i.state === 'stopped');
  const chosen = choices.find((i) => i.id === instanceId);
  const reason =
    notAllowed ??
    attachWhyNot(v) ??
    (instances === undefined
      ? 'The instances are loading.'
      : choices.length === 0
        ? 'No instance of this tenant is running or stopped.'
        : !chosen
          ? 'Choose an instance to attach it to.'
          : undefined);
  const stateNo = notAllowed ?? attachWhyNot(v);
  return (
    <span className="inline-flex flex-wrap items-center gap-2">
      <label htmlFor={id} className="sr-only">
        Attach {v.name} to
      </label>
      <select
        id={id}
        value={instanceId}
        disabled={Boolean(stateNo)}
        title={stateNo}
        onChange={(e) => setInstanceId(e.target.value)}
        className="rounded-md border border-slate-300 bg-white px-2 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 disabled:cursor-not-allowed disabled:text-slate-400"
      >
        <option value="">Attach to…</option>
        {choices.map((i) => (
          <option key={i.id} value={i.id}>
            {i.name} ({i.state})
          </option>
        ))}
      </select>
      <Button
        variant="secondary"
        aria-label={`Attach volume ${v.name}`}
        disabledReason={reason}
        busy={busy}
        onClick={() => {
          if (!chosen) return;
          onAttach(chosen.id);
          setInstanceId('');
        }}
      >
        Attach
      </Button>
    </span>
  );
}
