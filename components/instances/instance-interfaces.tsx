'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { rateSchema } from '@/server/network/validation';
import type { RouterOutputs } from '@/server/trpc/root';
import { formatBytes } from '../ui/format-bytes';
import { whyNotChangeInstanceNetwork, whyNotUseNic } from '../networks/network-rules';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Badge } from '../ui/badge';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';
import { DataTable } from '../ui/table';
import { roleReason, type Instance } from './format';
import { toNumber } from './size-fields';

export type Nic = RouterOutputs['instances']['interfaces'][number];

/** An instance's NICs: every few seconds while it runs (the byte counters move), now and then otherwise, never once terminated. */
export function useInstanceInterfaces(instance: Pick<Instance, 'id' | 'state'>) {
  const tenant = useTenant();
  const trpc = useTRPC();
  return useQuery({
    ...trpc.instances.interfaces.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    refetchInterval: instance.state === 'running' ? 3_000 : instance.state === 'terminated' ? false : 10_000,
  });
}

function Bytes({ n }: { n: number | undefined }) {
  if (n === undefined) return <span title="Counted only while the instance runs on a tenant network.">—</span>;
  return <span title={`${n.toLocaleString('en')} bytes`}>{formatBytes(n)}</span>;
}

/** The NICs of an instance: network, address, MAC, rate (changed inline) and traffic, with the user-mode note when a NIC has no tenant network. */
export function InstanceInterfaces({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const query = useInstanceInterfaces(instance);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const nics = query.data ?? [];
  const notes = [...new Set(nics.filter((n) => n.mode === 'user' && n.note).map((n) => n.note!))];
  const changeReason = roleReason(tenant.role) ?? whyNotChangeInstanceNetwork(instance);

  // Closing the inline form puts the keyboard back on the row's Change rate button, once it is rendered again.
  const refocus = useRef<string | null>(null);
  useEffect(() => {
    if (!refocus.current || editing) return;
    document.querySelector<HTMLButtonElement>(`[data-change-rate="${refocus.current}"]`)?.focus();
    refocus.current = null;
  });
  const close = (nicId: string) => {
    refocus.current = nicId;
    setEditing(null);
  };

  if (query.isPending) return <p role="status">Loading network interfaces…</p>;
  if (query.error) return <FormAlert message={describeError(query.error).message} />;
  if (nics.length === 0) return <p className="text-sm text-slate-600">This instance has no network interfaces.</p>;
  return (
    <div className="space-y-3">
      <FormAlert tone="success" message={notice} />
      <DataTable<Nic>
        caption={`Network interfaces of ${instance.name}`}
        rowKey={(n) => n.id}
        rows={nics}
        columns={[
          {
            header: 'Name',
            cell: (n) => (
              <span className="flex flex-wrap items-center gap-1 whitespace-nowrap">
                <span className="font-mono">{n.name}</span>
                {n.mode === 'user' ? (
                  <Badge tone="amber" title={n.note ?? undefined}>
                    user-mode
                  </Badge>
                ) : null}
              </span>
            ),
          },
          {
            header: 'Network',
            cell: (n) => (
              <span className="whitespace-nowrap">
                <Link href={`/t/${tenant.slug}/networks/${n.networkId}`} className="font-medium text-sky-800 hover:underline">
                  {n.networkName}
                </Link>
                <span className="block font-mono text-xs text-slate-500">{n.cidr}</span>
              </span>
            ),
          },
          {
            header: 'Address',
            cell: (n) => (n.address ? <code className="font-mono text-xs">{n.address}</code> : <span className="text-slate-500">released</span>),
          },
          { header: 'MAC', cell: (n) => <code className="font-mono text-xs">{n.mac}</code> },
          {
            header: 'Rate',
            cell: (n) =>
              editing === n.id ? (
                <RateForm
                  instance={instance}
                  nic={n}
                  onDone={(message) => {
                    setNotice(message);
                    close(n.id);
                  }}
                  onCancel={() => close(n.id)}
                />
              ) : (
                <span className="flex flex-wrap items-center gap-2 whitespace-nowrap">
                  <span className="tabular-nums">{n.rateMbit.toLocaleString('en')} Mbit/s</span>
                  <Button
                    variant="secondary"
                    className="px-2 py-1 text-xs"
                    aria-label={`Change rate of ${n.name}`}
                    data-change-rate={n.id}
                    disabledReason={changeReason ?? (n.releasedAt ? 'This interface was released.' : whyNotUseNic(n, 'Rates', instance.name))}
                    onClick={() => {
                      setNotice(null);
                      setEditing(n.id);
                    }}
                  >
                    Change rate
                  </Button>
                </span>
              ),
          },
          { header: 'Received', cell: (n) => <Bytes n={n.counters?.rxBytes} />, className: 'text-right tabular-nums whitespace-nowrap' },
          { header: 'Sent', cell: (n) => <Bytes n={n.counters?.txBytes} />, className: 'text-right tabular-nums whitespace-nowrap' },
        ]}
      />
      {notes.map((note) => (
        <p key={note} className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          <span className="font-medium">User-mode networking: </span>
          {note}
        </p>
      ))}
      <p className="text-xs text-slate-500">Received and sent are as the guest sees them, counted by the host since the interface was last set up.</p>
    </div>
  );
}

/** The inline "new rate" form of one NIC; the server checks the bandwidth quota. */
function RateForm({ instance, nic, onDone, onCancel }: { instance: Instance; nic: Nic; onDone: (message: string) => void; onCancel: () => void }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [rate, setRate] = useState(String(nic.rateMbit));
  const { errors, setErrors, clear, fromServer } = useFieldErrors(['rateMbit'] as const);
  const [formError, setFormError] = useState<string | null>(null);
  const save = useMutation(trpc.instances.setInterfaceRate.mutationOptions());
  const inputRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    inputRef.current?.querySelector('input')?.select();
  }, []);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    const parsed = rateSchema.safeParse(toNumber(rate));
    if (!parsed.success) {
      setErrors({ rateMbit: parsed.error.issues[0]?.message });
      return;
    }
    try {
      const done = await save.mutateAsync({ tenantId: tenant.id, instanceId: instance.id, interfaceId: nic.id, rateMbit: parsed.data });
      await queryClient.invalidateQueries({ queryKey: trpc.instances.interfaces.queryKey({ tenantId: tenant.id, instanceId: instance.id }) });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      onDone(`${nic.name} of ${instance.name} now runs at ${done.rateMbit.toLocaleString('en')} Mbit/s.`);
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    }
  }

  return (
    <form ref={inputRef} onSubmit={onSubmit} noValidate aria-label={`Rate of ${nic.name}`} className="min-w-48 space-y-2">
      <TextField
        label={`New rate of ${nic.name} (Mbit/s)`}
        name="rateMbit"
        type="number"
        inputMode="numeric"
        step={1}
        value={rate}
        onChange={(e) => {
          clear('rateMbit');
          setRate(e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel();
        }}
        error={errors.rateMbit}
      />
      <FormAlert message={formError} />
      <div className="flex gap-2">
        <Button type="submit" className="px-2 py-1 text-xs" busy={save.isPending}>
          Save rate
        </Button>
        <Button variant="ghost" className="px-2 py-1 text-xs" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
