'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { HOT_MEMORY_STEP_MIB, resizeWhyNot } from '@/server/instances/can';
import { resizeInput } from '@/server/instances/validation';
import { LaunchEstimate } from '../billing/launch-estimate';
import { QuotaBars } from '../quotas/quota-bars';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';
import { roleReason, type Instance } from './format';

const KEYS = ['vcpus', 'memoryMiB', 'diskGiB', 'nics', 'maxVcpus', 'maxMemoryMiB'] as const;
type Key = (typeof KEYS)[number];
const RESOURCES = ['vcpus', 'memoryMiB', 'diskGiB', 'nics'];

/**
 * A new size for the instance: stopped, any size (and the room to grow into
 * while it runs, for images that online hot-added vCPUs and memory); running,
 * more vCPUs and memory up to that room, and a bigger disk. The quota bars and
 * the price show what the new size means before it is asked for.
 */
export function ResizeForm({ instance: i, hotplug }: { instance: Instance; hotplug: boolean }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const quotas = useQuery(trpc.quotas.get.queryOptions({ tenantId: tenant.id }));
  const resize = useMutation(trpc.instances.resize.mutationOptions());
  const initial = (): Record<Key, string> => ({
    vcpus: String(i.vcpus),
    memoryMiB: String(i.memoryMiB),
    diskGiB: String(i.diskGiB),
    nics: String(i.nics),
    maxVcpus: String(i.maxVcpus ?? i.vcpus),
    maxMemoryMiB: String(i.maxMemoryMiB ?? i.memoryMiB),
  });
  const [values, setValues] = useState(initial);
  const [notice, setNotice] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const num = (k: Key) => (values[k].trim() === '' ? NaN : Number(values[k]));
  const to = { vcpus: num('vcpus'), memoryMiB: num('memoryMiB'), diskGiB: num('diskGiB') };
  const stopped = i.state === 'stopped';
  const roomShown = hotplug && stopped;
  const room = roomShown ? { maxVcpus: num('maxVcpus'), maxMemoryMiB: num('maxMemoryMiB') } : {};
  const roomChanges = roomShown && (room.maxVcpus !== (i.maxVcpus ?? i.vcpus) || room.maxMemoryMiB !== (i.maxMemoryMiB ?? i.memoryMiB));
  // NICs come and go while it is stopped (new ones join the network of its first, at the default rate).
  const nics = stopped ? num('nics') : i.nics;
  const nicsChange = nics !== i.nics;
  const valid = Object.values(to).every((n) => Number.isInteger(n) && n > 0);
  // A size that is not a number yet is for the fields to explain (on submit), not the button.
  const why = valid ? resizeWhyNot(i, to, hotplug) : null;
  const notAllowed = roleReason(tenant.role) ?? (why === 'That is the size it has.' && (roomChanges || nicsChange) ? null : why) ?? undefined;
  const more = {
    vcpus: Math.max(0, to.vcpus - i.vcpus) || 0,
    memoryMiB: Math.max(0, to.memoryMiB - i.memoryMiB) || 0,
    diskGiB: Math.max(0, to.diskGiB - i.diskGiB) || 0,
    nics: Math.max(0, nics - i.nics) || 0,
  };

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    setNotice(null);
    const parsed = resizeInput.safeParse({ instanceId: i.id, ...to, ...room, ...(stopped ? { nics } : {}) });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      await resize.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setNotice(`Resizing to ${to.vcpus} vCPU, ${to.memoryMiB} MiB, ${to.diskGiB} GiB…`);
      void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    }
  }

  const field = (k: Key, label: string, hint?: string) => (
    <TextField
      label={label}
      name={`resize-${k}`}
      type="number"
      inputMode="numeric"
      min={1}
      value={values[k]}
      onChange={(e) => {
        clear(k);
        setValues((v) => ({ ...v, [k]: e.target.value }));
      }}
      error={errors[k]}
      hint={hint}
    />
  );
  const runningHint =
    i.state === 'running'
      ? hotplug
        ? `Added while it runs: up to ${i.maxVcpus ?? i.vcpus} vCPU and ${i.maxMemoryMiB ?? i.memoryMiB} MiB (memory in steps of ${HOT_MEMORY_STEP_MIB} MiB); stop it to go beyond or to make it smaller.`
        : 'Its image does not bring hot-added vCPUs and memory online: stop it to change them. Its disk grows while it runs.'
      : 'Stopped, it takes any size and any number of network interfaces; its disk only grows.';
  return (
    <form onSubmit={onSubmit} noValidate aria-label="Resize instance" className="space-y-4">
      <FormAlert message={formError} />
      <FormAlert tone="success" message={notice} />
      <p className="text-xs text-slate-600">{runningHint}</p>
      <div className="grid gap-3 sm:grid-cols-4">
        {field('vcpus', 'vCPUs')}
        {field('memoryMiB', 'Memory (MiB)')}
        {field('diskGiB', 'Disk (GiB)')}
        {stopped ? field('nics', 'Network interfaces', 'New ones join the network of its first, at 100 Mbit/s.') : null}
      </div>
      {roomShown ? (
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-slate-800">Room to grow into while it runs</legend>
          <div className="grid gap-3 sm:grid-cols-2">
            {field('maxVcpus', 'vCPU ceiling while running')}
            {field('maxMemoryMiB', 'Memory ceiling while running, MiB')}
          </div>
        </fieldset>
      ) : null}
      <div className="grid gap-4 lg:grid-cols-2">
        <div>
          <h3 className="mb-2 text-sm font-semibold text-slate-900">Quota after resize</h3>
          {quotas.data ? <QuotaBars quotas={quotas.data.filter((q) => RESOURCES.includes(q.resource))} request={more} label="Quota after resize" /> : <p role="status">Loading quotas…</p>}
        </div>
        <div>
          <h3 className="mb-2 text-sm font-semibold text-slate-900">Cost at the new size</h3>
          <LaunchEstimate tenantId={tenant.id} size={valid && nics > 0 ? { ...to, nics } : { vcpus: 0, memoryMiB: 0, diskGiB: 0, nics: 0 }} />
        </div>
      </div>
      <Button type="submit" disabledReason={notAllowed} busy={resize.isPending}>
        Resize
      </Button>
    </form>
  );
}
