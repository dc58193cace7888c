'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { DataTable } from '../ui/table';
import { formatMoment, type Instance } from './format';

type InstanceEvent = RouterOutputs['instances']['events'][number];

const columns = [
  { header: 'Time', cell: (e: InstanceEvent) => <time dateTime={e.at.toISOString()} title={e.at.toISOString()}>{formatMoment(e.at)}</time>, className: 'whitespace-nowrap' },
  { header: 'Actor', cell: (e: InstanceEvent) => e.actor },
  { header: 'Action', cell: (e: InstanceEvent) => e.action },
  {
    header: 'State',
    cell: (e: InstanceEvent) => (e.fromState || e.toState ? `${e.fromState ?? '—'} → ${e.toState ?? '—'}` : '—'),
    className: 'whitespace-nowrap',
  },
  { header: 'Message', cell: (e: InstanceEvent) => e.message ?? '' },
];

/** What happened to the instance, newest first; refreshed with the instance itself. */
export function InstanceEvents({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const events = useQuery({
    ...trpc.instances.events.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    refetchInterval: instance.state === 'terminated' ? false : 3_000,
  });
  // A change of state is an event: ask at once rather than at the next tick.
  const { refetch } = events;
  const shownState = useRef(instance.state);
  useEffect(() => {
    if (shownState.current === instance.state) return;
    shownState.current = instance.state;
    void refetch();
  }, [instance.state, refetch]);
  if (events.error) return <FormAlert message={describeError(events.error).message} />;
  if (!events.data) return <p role="status">Loading events…</p>;
  return <DataTable caption={`Events of ${instance.name}`} columns={columns} rows={events.data} rowKey={(e) => String(e.id)} />;
}
