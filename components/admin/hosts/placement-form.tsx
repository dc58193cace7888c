'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { describeError, useTRPC } from '../../trpc/client';
import { FormAlert } from '../../ui/field';
import { Card } from '../../ui/page';

const CHOICES = [
  { value: 'spread', label: 'Spread', help: 'Each new instance goes to the host with the most room left: load evens out, and one host failing touches fewer instances.' },
  { value: 'pack', label: 'Pack', help: 'Each new instance goes to the fullest host it fits on: whole hosts stay empty, ready for large instances or to be switched off.' },
] as const;

/** The cluster's placement strategy: a radio group that saves on change. */
export function PlacementForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settings = useQuery(trpc.admin.settings.get.queryOptions());
  const save = useMutation(trpc.admin.hosts.setPlacement.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.settings.pathKey() }) }));
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const current = settings.data?.placementStrategy;

  async function choose(strategy: 'spread' | 'pack') {
    setMessage(null);
    try {
      await save.mutateAsync({ strategy });
      setMessage({ text: `New instances are now placed by ${strategy}.`, tone: 'success' });
    } catch (err) {
      setMessage({ text: describeError(err).message, tone: 'error' });
    }
  }

  return (
    <Card title="Placement" description="Where new instances go among the enabled, live hosts with room. Instances already placed stay where they are.">
      {settings.isPending ? <p role="status">Loading…</p> : null}
      {settings.error ? <FormAlert message={describeError(settings.error).message} /> : null}
      <FormAlert message={message?.text} tone={message?.tone} />
      {current ? (
        <fieldset className="space-y-2" disabled={save.isPending}>
          <legend className="sr-only">Placement strategy</legend>
          {CHOICES.map((c) => (
            <label key={c.value} className="flex items-start gap-2 text-sm">
              <input type="radio" name="placement" value={c.value} checked={current === c.value} onChange={() => void choose(c.value)} className="mt-1" />
              <span>
                <span className="font-medium">{c.label}</span>
                <span className="block text-slate-600">{c.help}</span>
              </span>
            </label>
          ))}
        </fieldset>
      ) : null}
    </Card>
  );
}
