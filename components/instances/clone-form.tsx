'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { copyWhyNot } from '@/server/instances/can';
import { cloneInput } from '@/server/instances/validation';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, SelectField, TextField } from '../ui/field';
import { roleReason, type Instance } from './format';

const KEYS = ['name', 'snapshotId', 'linked'] as const;
/** The "Clone from" / "Make it from" value for the disk as it is now (otherwise a snapshot id). */
export const NOW = 'now';

/** Where a copy of an instance comes from: its disk now, or one of its available snapshots. */
export function CopyFromField({
  instance,
  label,
  value,
  onChange,
  error,
  snapshotHint,
}: {
  instance: Instance;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  snapshotHint: string;
}) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const snapshots = useQuery(trpc.snapshots.list.queryOptions({ tenantId: tenant.id, instanceId: instance.id }));
  const available = (snapshots.data ?? []).filter((s) => s.state === 'available');
  return (
    <SelectField
      label={label}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
      hint={value === NOW ? 'Its disk at this moment (filesystems frozen for that instant where the image has a guest agent).' : snapshotHint}
      options={[{ value: NOW, label: 'Its disk now' }, ...available.map((s) => ({ value: s.id, label: `Snapshot “${s.name}”` }))]}
    />
  );
}

/**
 * Make a new instance from this one: from its disk now or one of its
 * snapshots, linked or full. It is admitted like a launch (quota, budget,
 * capacity), so a refusal says which limit; on success, the clone's page.
 */
export function CloneForm({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const clone = useMutation(trpc.instances.clone.mutationOptions());
  const [name, setName] = useState(`${instance.name}-clone`.slice(0, 63));
  const [from, setFrom] = useState(NOW);
  const [linked, setLinked] = useState(true);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [formError, setFormError] = useState<string | null>(null);
  const notAllowed = roleReason(tenant.role) ?? copyWhyNot('clone', instance.state, from !== NOW) ?? undefined;

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    const parsed = cloneInput.safeParse({ instanceId: instance.id, name, snapshotId: from === NOW ? null : from, linked });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      const made = await clone.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      router.push(`/t/${tenant.slug}/instances/${made.id}`);
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Clone instance" className="space-y-3">
      <FormAlert message={formError} />
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField
          label="Name of the clone"
          name="cloneName"
          required
          maxLength={63}
          value={name}
          onChange={(e) => {
            clear('name');
            setName(e.target.value);
          }}
          error={errors.name}
        />
        <CopyFromField
          instance={instance}
          label="Clone from"
          value={from}
          onChange={(v) => {
            clear('snapshotId');
            setFrom(v);
          }}
          error={errors.snapshotId}
          snapshotHint="The disk as this snapshot holds it (no memory comes with a clone)."
        />
      </div>
      <fieldset className="space-y-1">
        <legend className="text-sm font-medium text-slate-800">Disk</legend>
        {[
          { value: true, label: 'Linked', hint: 'Made at once: its disk is a copy-on-write layer over the source’s, which stays as long as the clone needs it.' },
          { value: false, label: 'Full copy', hint: 'A disk of its own, copied in full before it boots (progress is shown on its page).' },
        ].map((o) => (
          <label key={o.label} className="flex items-start gap-2 text-sm text-slate-800">
            <input type="radio" name="cloneLinked" className="mt-0.5" checked={linked === o.value} onChange={() => (clear('linked'), setLinked(o.value))} />
            <span>
              {o.label}
              <span className="block text-xs text-slate-600">{o.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <p className="text-xs text-slate-600">
        The clone has this instance’s size ({instance.vcpus} vCPU, {instance.memoryMiB} MiB, {instance.diskGiB} GiB), image and key, on the same networks with
        addresses and MACs of its own, and sets itself up again under its new name. It counts against the quota and is billed like any instance.
      </p>
      <Button type="submit" disabledReason={notAllowed} busy={clone.isPending}>
        Clone
      </Button>
    </form>
  );
}
