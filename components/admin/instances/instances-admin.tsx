'use client';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';
import { FormAlert, SelectField, TextField } from '../../ui/field';
import { Pager, useKeysetPages } from '../../ui/pager';
import { DataTable, formatDateTime } from '../../ui/table';
import type { RouterInputs, RouterOutputs } from '@/server/trpc/root';

type Instance = RouterOutputs['admin']['instances']['list']['items'][number];
type State = NonNullable<RouterInputs['admin']['instances']['list']['states']>[number];

const STATES: State[] = ['pending', 'starting', 'running', 'stopping', 'stopped', 'terminating', 'terminated', 'error'];
const LIVE: State[] = ['pending', 'starting', 'running', 'stopping', 'stopped', 'error'];

/** Every tenant's instances, filtered by tenant, name and state, a page at a time; stop, force stop or terminate any. */
export function InstancesAdmin({ initialTenantId = '' }: { initialTenantId?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // A tenant page links here with its id; otherwise admins type part of a tenant's name or slug.
  const router = useRouter();
  const [tenantId, setTenantId] = useState(initialTenantId);
  const linkedTenant = useQuery({ ...trpc.admin.tenants.get.queryOptions({ tenantId }), enabled: Boolean(tenantId) });
  const [tenant, setTenant] = useState('');
  const [name, setName] = useState('');
  const [state, setState] = useState<'live' | 'all' | State>('live');
  const pages = useKeysetPages();
  const [notice, setNotice] = useState<string | null>(null);
  const states = state === 'all' ? undefined : state === 'live' ? LIVE : [state];
  const list = useQuery({
    ...trpc.admin.instances.list.queryOptions({
      tenantId: tenantId || undefined,
      tenant: tenantId ? undefined : tenant.trim() || undefined,
      name: name.trim() || undefined,
      states,
      cursor: pages.cursor,
      limit: 25,
    }),
    placeholderData: keepPreviousData,
    refetchInterval: 5_000,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.instances.list.queryKey() });
  const stop = useMutation(
    trpc.admin.instances.stop.mutationOptions({
      onSuccess: async (_d, v) => {
        setNotice(`${v.force ? 'Force stop' : 'Stop'} of ${v.instanceId} requested.`);
        await refresh();
      },
    }),
  );
  const terminate = useMutation(
    trpc.admin.instances.terminate.mutationOptions({
      onSuccess: async (_d, v) => {
        setNotice(`Termination of ${v.instanceId} requested.`);
        await refresh();
      },
    }),
  );
  const actionError = stop.error ?? terminate.error;
  const resetPaging = pages.reset;
  const items = list.data?.items ?? [];
  const stopReason = (i: Instance) =>
    ['running', 'starting', 'pending'].includes(i.state) ? undefined : `A ${i.state} instance cannot be stopped.`;
  const forceReason = (i: Instance) =>
    ['running', 'starting', 'pending', 'stopping', 'error'].includes(i.state) ? undefined : `A ${i.state} instance cannot be force stopped.`;
  const terminateReason = (i: Instance) =>
    i.state === 'terminating' || i.state === 'terminated' ? `This instance is ${i.state}.` : undefined;
  return (
    <div className="space-y-4">
      <form role="search" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()} className="grid gap-4 sm:grid-cols-3 lg:max-w-4xl">
        {tenantId ? (
          <div className="space-y-1 text-sm">
            <p className="font-medium text-slate-700">Tenant</p>
            <p>
              {linkedTenant.error ? (
                <span className="text-red-700">{describeError(linkedTenant.error).message}</span>
              ) : (
                <>
                  Only <span className="font-medium">{linkedTenant.data?.name ?? '…'}</span>
                </>
              )}{' '}
              <button
                type="button"
                className="text-sky-800 underline"
                onClick={() => {
                  setTenantId('');
                  resetPaging();
                  // Drop ?tenant= too, so a reload shows every tenant as well.
                  router.replace('/admin/instances');
                }}
              >
                Show every tenant
              </button>
            </p>
          </div>
        ) : (
          <TextField
            label="Tenant contains"
            type="search"
            value={tenant}
            hint="Name or slug."
            onChange={(e) => {
              setTenant(e.target.value);
              resetPaging();
            }}
          />
        )}
        <TextField
          label="Name contains"
          type="search"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            resetPaging();
          }}
        />
        <SelectField
          label="State"
          value={state}
          onChange={(e) => {
            setState(e.target.value as typeof state);
            resetPaging();
          }}
          options={[
            { value: 'live', label: 'Not terminated' },
            { value: 'all', label: 'All states' },
            ...STATES.map((s) => ({ value: s, label: s })),
          ]}
        />
      </form>
      <FormAlert tone="success" message={notice} />
      {actionError ? <FormAlert message={describeError(actionError).message} /> : null}
      {list.isPending ? <p role="status">Loading instances…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && items.length === 0 ? <p className="text-sm text-slate-600">No instances match these filters.</p> : null}
      {items.length > 0 ? (
        <DataTable<Instance>
          caption="All instances"
          rowKey={(i) => i.id}
          rows={items}
          columns={[
            {
              header: 'Instance',
              cell: (i) => (
                <div>
                  <div className="font-medium">{i.name}</div>
                  <div className="font-mono text-xs text-slate-500">{i.id}</div>
                </div>
              ),
            },
            {
              header: 'Tenant',
              cell: (i) => (
                <Link href={`/admin/tenants/${i.tenantId}`} className="text-sky-800 hover:underline">
                  {i.tenantName}
                </Link>
              ),
            },
            {
              header: 'State',
              cell: (i) => (
                <div>
                  <span>{i.state}</span>
                  {i.stateReason ? <div className="max-w-48 text-xs text-slate-500">{i.stateReason}</div> : null}
                </div>
              ),
            },
            { header: 'Size', cell: (i) => `${i.vcpus} vCPU · ${i.memoryMiB} MiB · ${i.diskGiB} GiB · ${i.nics} NIC`, className: 'whitespace-nowrap' },
            { header: 'Host', cell: (i) => <HostCell instance={i} /> },
            { header: 'Created', cell: (i) => formatDateTime(i.createdAt), className: 'whitespace-nowrap' },
            {
              header: 'Actions',
              cell: (i) => (
                <div className="flex flex-wrap gap-2">
                  <Button
                    variant="secondary"
                    aria-label={`Stop ${i.name}`}
                    disabledReason={stopReason(i)}
                    busy={stop.isPending && stop.variables?.instanceId === i.id && !stop.variables.force}
                    onClick={() => stop.mutate({ instanceId: i.id })}
                  >
                    Stop
                  </Button>
                  <ConfirmButton
                    aria-label={`Force stop ${i.name}`}
                    question={`Force stop ${i.name}? The guest is cut off without a shutdown.`}
                    confirmLabel="Force stop"
                    disabledReason={forceReason(i)}
                    busy={stop.isPending && stop.variables?.instanceId === i.id && stop.variables.force}
                    onConfirm={() => stop.mutate({ instanceId: i.id, force: true })}
                  >
                    Force stop
                  </ConfirmButton>
                  <MoveControl instance={i} onDone={(text) => setNotice(text)} />
                  <ConfirmButton
                    aria-label={`Terminate ${i.name}`}
                    question={`Terminate ${i.name}? Its disk and snapshots are deleted.`}
                    confirmLabel="Terminate"
                    disabledReason={terminateReason(i)}
                    busy={terminate.isPending && terminate.variables?.instanceId === i.id}
                    onConfirm={() => terminate.mutate({ instanceId: i.id })}
                  >
                    Terminate
                  </ConfirmButton>
                </div>
              ),
            },
          ]}
        />
      ) : null}
      <Pager label="Pages of instances" pages={pages} nextCursor={list.isPlaceholderData ? undefined : list.data?.nextCursor} />
    </div>
  );
}

type Host = RouterOutputs['admin']['hosts']['list'][number];

/** The instance's host, and where it is moving to while it moves. */
function HostCell({ instance }: { instance: Instance }) {
  const trpc = useTRPC();
  const hosts = useQuery(trpc.admin.hosts.list.queryOptions(undefined, { staleTime: 10_000 }));
  const to = instance.migrationHostId ? (hosts.data?.find((h) => h.id === instance.migrationHostId)?.name ?? 'another host') : null;
  return (
    <span className="whitespace-nowrap">
      {instance.hostName ?? '—'}
      {to ? <span className="block text-xs text-amber-800">moving to {to}…</span> : null}
    </span>
  );
}

/**
 * Move an instance to another host: a running one live, a stopped one as a
 * copy of its disk. The host list offers the enabled, live ones besides its own;
 * "Any host" lets placement choose.
 */
function MoveControl({ instance, onDone }: { instance: Instance; onDone: (text: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const hosts = useQuery(trpc.admin.hosts.list.queryOptions(undefined, { staleTime: 10_000 }));
  const [target, setTarget] = useState('');
  const move = useMutation(
    trpc.admin.instances.migrate.mutationOptions({
      onSuccess: async () => {
        onDone(`${instance.name} is moving ${instance.state === 'running' ? 'live ' : ''}to another host.`);
        await queryClient.invalidateQueries({ queryKey: trpc.admin.instances.list.queryKey() });
      },
    }),
  );
  const others = (hosts.data ?? []).filter((h: Host) => h.id !== instance.hostId && h.state === 'enabled' && h.alive);
  const why =
    instance.migrationHostId
      ? 'It is moving already.'
      : instance.state !== 'running' && instance.state !== 'stopped'
        ? `A ${instance.state} instance does not move.`
        : others.length === 0
          ? 'No other host takes instances now.'
          : undefined;
  const id = `move-${instance.id}`;
  return (
    <span className="flex flex-wrap items-center gap-1">
      <label htmlFor={id} className="sr-only">
        Move {instance.name} to
      </label>
      <select id={id} value={target} onChange={(e) => setTarget(e.target.value)} disabled={!!why} className="rounded border border-slate-300 px-1 py-1 text-sm">
        <option value="">Any host</option>
        {others.map((h: Host) => (
          <option key={h.id} value={h.id}>
            {h.name}
          </option>
        ))}
      </select>
      <Button
        variant="secondary"
        aria-label={`Move ${instance.name}`}
        disabledReason={why}
        busy={move.isPending}
        onClick={() => move.mutate({ instanceId: instance.id, targetHostId: target || null })}
      >
        Move
      </Button>
      {move.error ? <span role="alert" className="block w-full text-xs text-red-700">{describeError(move.error).message}</span> : null}
    </span>
  );
}
