'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { restoreWhyNot, snapshotSizeWhyNot, snapshotWhyNot } from '@/server/instances/can';
import { createSnapshotInput } from '@/server/snapshots/validation';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';
import { formatBytes } from '../ui/format-bytes';
import { DataTable } from '../ui/table';
import { roleReason, type Instance } from './format';

type Snapshot = RouterOutputs['snapshots']['list'][number];
const KEYS = ['name', 'withMemory'] as const;
const busyStates: readonly Snapshot['state'][] = ['creating', 'restoring', 'deleting'];

function SnapshotState({ s }: { s: Snapshot }) {
  const p = s.progress;
  const pct = p && p.totalBytes > 0 ? Math.min(100, Math.floor((p.doneBytes / p.totalBytes) * 100)) : null;
  return (
    <span className="inline-flex flex-col gap-1">
      <span>{s.state}</span>
      {busyStates.includes(s.state) ? (
        <progress className="h-1.5 w-24 accent-sky-700" aria-label={`${s.name}: ${s.state}${pct !== null ? ` ${pct}%` : ''}`} max={100} value={pct ?? undefined} />
      ) : null}
      {s.stateReason ? <span className={`max-w-64 text-xs ${s.state === 'error' ? 'text-red-700' : 'text-slate-600'}`}>{s.stateReason}</span> : null}
    </span>
  );
}

/** An instance's snapshots: the list (restore, delete) and a form to take one, each refusal with its reason. */
export function Snapshots({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({
    ...trpc.snapshots.list.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    refetchInterval: (q) => (instance.state === 'terminated' ? false : (q.state.data ?? []).some((s) => busyStates.includes(s.state)) ? 1_000 : 5_000),
  });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.snapshots.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
  };
  const options = { onMutate: () => (setNotice(null), setError(null)), onError: (e: unknown) => setError(describeError(e).message), onSettled: refresh };
  const restore = useMutation(trpc.snapshots.restore.mutationOptions(options));
  const remove = useMutation(trpc.snapshots.delete.mutationOptions(options));
  const roleNo = roleReason(tenant.role);
  const rows = list.data ?? [];
  return (
    <div className="space-y-4">
      <FormAlert tone="success" message={notice} />
      <FormAlert message={error} />
      {list.isPending ? <p role="status">Loading snapshots…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && rows.length === 0 ? <p className="text-sm text-slate-600">No snapshots of this instance yet.</p> : null}
      {rows.length > 0 ? (
        <DataTable<Snapshot>
          caption={`Snapshots of ${instance.name}`}
          rowKey={(s) => s.id}
          rows={rows}
          columns={[
            { header: 'Name', cell: (s) => <span className="font-medium break-all text-slate-900">{s.name}</span> },
            { header: 'Holds', cell: (s) => (s.withMemory ? 'disk and memory' : 'disk') },
            { header: 'Size', cell: (s) => (s.state === 'creating' ? '—' : formatBytes(s.diskBytes + s.stateBytes)), className: 'whitespace-nowrap' },
            { header: 'State', cell: (s) => <SnapshotState s={s} /> },
            { header: 'Taken', cell: (s) => <time dateTime={s.createdAt.toISOString()}>{s.createdAt.toLocaleString()}</time> },
            {
              header: 'Actions',
              cell: (s) => (
                <div className="flex flex-wrap gap-2">
                  <ConfirmButton
                    aria-label={`Restore snapshot ${s.name}`}
                    question={`Put ${instance.name} back to “${s.name}”? What it wrote since is lost${s.withMemory ? '; it comes back running where the snapshot was taken' : ''}.`}
                    confirmLabel="Restore"
                    disabledReason={roleNo ?? (s.state !== 'available' ? `This snapshot is ${s.state}.` : undefined) ?? restoreWhyNot(instance.state, s.withMemory) ?? snapshotSizeWhyNot(s, instance) ?? undefined}
                    busy={restore.isPending && restore.variables?.snapshotId === s.id}
                    onConfirm={() => restore.mutate({ tenantId: tenant.id, snapshotId: s.id })}
                  >
                    Restore
                  </ConfirmButton>
                  <ConfirmButton
                    aria-label={`Delete snapshot ${s.name}`}
                    question={`Delete snapshot “${s.name}”? The other snapshots stay as they are.`}
                    confirmLabel="Delete"
                    disabledReason={roleNo ?? (s.state !== 'available' && s.state !== 'error' ? `This snapshot is ${s.state}.` : undefined)}
                    busy={remove.isPending && remove.variables?.snapshotId === s.id}
                    onConfirm={() => remove.mutate({ tenantId: tenant.id, snapshotId: s.id })}
                  >
                    Delete
                  </ConfirmButton>
                </div>
              ),
            },
          ]}
        />
      ) : null}
      <SnapshotForm instance={instance} onDone={(s) => (setNotice(`Taking snapshot “${s.name}”…`), refresh())} />
    </div>
  );
}

function SnapshotForm({ instance, onDone }: { instance: Instance; onDone: (s: Snapshot) => void }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const create = useMutation(trpc.snapshots.create.mutationOptions());
  const [name, setName] = useState('');
  const [withMemory, setWithMemory] = useState(false);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [formError, setFormError] = useState<string | null>(null);
  const notAllowed = roleReason(tenant.role) ?? snapshotWhyNot(instance.state, withMemory) ?? undefined;

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    const parsed = createSnapshotInput.safeParse({ instanceId: instance.id, name, withMemory });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      const made = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setName('');
      onDone(made);
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Take snapshot" className="space-y-3 border-t border-slate-100 pt-4">
      <h3 className="text-sm font-semibold text-slate-900">Take a snapshot</h3>
      <FormAlert message={formError} />
      <TextField
        label="Snapshot name"
        name="snapshotName"
        required
        maxLength={64}
        value={name}
        onChange={(e) => {
          clear('name');
          setName(e.target.value);
        }}
        error={errors.name}
      />
      <label className="flex items-start gap-2 text-sm text-slate-800">
        <input
          type="checkbox"
          className="mt-0.5"
          checked={withMemory}
          aria-describedby="with-memory-hint"
          onChange={(e) => {
            clear('withMemory');
            setWithMemory(e.target.checked);
          }}
        />
        <span>
          Include memory
          <span id="with-memory-hint" className="block text-xs text-slate-600">
            The guest pauses while its memory is saved; restoring brings it back running exactly there. Without memory the disk is taken
            (filesystems frozen for that instant where the image has a guest agent) and is restored into the stopped instance.
          </span>
        </span>
      </label>
      {errors.withMemory ? <p className="text-sm text-red-700">{errors.withMemory}</p> : null}
      <Button type="submit" disabledReason={notAllowed} busy={create.isPending}>
        Take snapshot
      </Button>
    </form>
  );
}
