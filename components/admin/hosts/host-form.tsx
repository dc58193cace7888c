'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTRPC } from '../../trpc/client';
import { useFieldErrors } from '../../ui/field-errors';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { formatRatio, parseRatio } from './ratio';

type Host = RouterOutputs['admin']['hosts']['list'][number];
type Key = 'cpuRatioPct' | 'ramRatioPct' | 'ramReserveMiB';
const KEYS: Key[] = ['cpuRatioPct', 'ramRatioPct', 'ramReserveMiB'];

/** One host's overcommit ratios (edited as ×, sent in hundredths), RAM reserve, and maintenance switch. */
export function HostForm({ host }: { host: Host }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [cpu, setCpu] = useState(formatRatio(host.cpuRatioPct));
  const [ram, setRam] = useState(formatRatio(host.ramRatioPct));
  const [reserve, setReserve] = useState(String(host.ramReserveMiB));
  const { errors, setErrors, clear: edit, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const update = useMutation(
    trpc.admin.hosts.update.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.hosts.pathKey() }) }),
  );
  const maintenance = host.state === 'maintenance';
  const evacuate = useMutation(
    trpc.admin.hosts.evacuate.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.hosts.pathKey() }) }),
  );
  const [refused, setRefused] = useState<{ instanceId: string; name: string; reason: string }[]>([]);

  async function onEvacuate() {
    setMessage(null);
    try {
      const r = await evacuate.mutateAsync({ hostId: host.id });
      setRefused(r.refused);
      setMessage({
        text: `${host.name} is in maintenance; ${r.queued} instance${r.queued === 1 ? ' is' : 's are'} moving away${r.refused.length ? `, ${r.refused.length} cannot move (below)` : ''}.`,
        tone: r.refused.length ? 'error' : 'success',
      });
    } catch (err) {
      setMessage({ text: fromServer(err).message, tone: 'error' });
    }
  }

  async function send(input: Omit<Parameters<typeof update.mutateAsync>[0], 'hostId'>, done: string) {
    setMessage(null);
    try {
      await update.mutateAsync({ hostId: host.id, ...input });
      setMessage({ text: done, tone: 'success' });
    } catch (err) {
      setMessage({ text: fromServer(err).message, tone: 'error' });
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const errs: Partial<Record<Key, string>> = {};
    const c = parseRatio(cpu, 'the CPU ratio');
    const r = parseRatio(ram, 'the RAM ratio');
    if ('error' in c) errs.cpuRatioPct = c.error;
    if ('error' in r) errs.ramRatioPct = r.error;
    const mib = Number(reserve.trim());
    if (!/^\d+$/.test(reserve.trim()) || mib > 1_048_576) errs.ramReserveMiB = 'Enter the reserve as a whole number of MiB, up to 1048576.';
    setErrors(errs);
    if ('error' in c || 'error' in r || errs.ramReserveMiB) return;
    void send({ cpuRatioPct: c.pct, ramRatioPct: r.pct, ramReserveMiB: mib }, `Settings for ${host.name} saved.`);
  }

  return (
    <Card title={`Host ${host.name}`} description={`${host.cpus} CPUs, ${host.memoryMiB} MiB RAM and ${host.diskGiB} GiB disk before ratios.`}>
      <div className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <div className="flex flex-wrap items-center gap-3">
          <button
            type="button"
            role="switch"
            aria-checked={maintenance}
            aria-label={`Maintenance for ${host.name}`}
            disabled={update.isPending}
            onClick={() =>
              void send(
                { state: maintenance ? 'enabled' : 'maintenance' },
                maintenance ? `${host.name} takes new instances again.` : `${host.name} is in maintenance: it takes no new instances.`,
              )
            }
            className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 disabled:opacity-50 ${
              maintenance ? 'bg-amber-600' : 'bg-slate-300'
            }`}
          >
            <span aria-hidden className={`inline-block size-5 rounded-full bg-white shadow transition ${maintenance ? 'translate-x-5' : 'translate-x-0.5'}`} />
          </button>
          <span className="text-sm text-slate-800">Maintenance {maintenance ? 'on: no new instances are placed here' : 'off'}</span>
          <ConfirmButton
            aria-label={`Evacuate ${host.name}`}
            question={`Put ${host.name} in maintenance and move every instance on it to other hosts (running ones live)?`}
            confirmLabel="Evacuate"
            busy={evacuate.isPending}
            onConfirm={() => void onEvacuate()}
          >
            Evacuate
          </ConfirmButton>
        </div>
        {refused.length ? (
          <div className="text-sm text-slate-700">
            <p>These stay on {host.name}:</p>
            <ul className="list-disc pl-5">
              {refused.map((r) => (
                <li key={r.instanceId}>
                  <span className="font-medium">{r.name}</span>: {r.reason}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <form onSubmit={onSubmit} noValidate aria-label={`Settings for ${host.name}`} className="space-y-4">
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
            <TextField
              label="CPU ratio (×)"
              name="cpuRatio"
              inputMode="decimal"
              autoComplete="off"
              value={cpu}
              onChange={(e) => {
                edit('cpuRatioPct');
                setCpu(e.target.value);
              }}
              error={errors.cpuRatioPct}
              hint="vCPUs per physical CPU, 0.1 to 100."
            />
            <TextField
              label="RAM ratio (×)"
              name="ramRatio"
              inputMode="decimal"
              autoComplete="off"
              value={ram}
              onChange={(e) => {
                edit('ramRatioPct');
                setRam(e.target.value);
              }}
              error={errors.ramRatioPct}
              hint="Guest RAM per MiB of host RAM, 0.1 to 100."
            />
            <TextField
              label="RAM reserve (MiB)"
              name="ramReserveMiB"
              inputMode="numeric"
              autoComplete="off"
              value={reserve}
              onChange={(e) => {
                edit('ramReserveMiB');
                setReserve(e.target.value);
              }}
              error={errors.ramReserveMiB}
              hint="Kept for the host itself, before the ratio."
            />
          </div>
          <Button type="submit" busy={update.isPending}>
            Save settings
          </Button>
        </form>
      </div>
    </Card>
  );
}
