'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';
import { FormAlert } from '../../ui/field';
import { Card } from '../../ui/page';
import { DataTable } from '../../ui/table';
import { FlavorForm } from './flavor-form';
import { StatusBadge } from './status-badge';

type Flavor = RouterOutputs['admin']['flavors']['list'][number];

/** The size presets of the launch form: create, edit, enable or disable, delete. */
export function FlavorsAdmin() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.admin.flavors.list.queryOptions());
  const [editingId, setEditingId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.flavors.list.queryKey() });
  const announce = async (message: string) => {
    await refresh();
    setNotice(message);
  };
  const toggle = useMutation(
    trpc.admin.flavors.update.mutationOptions({
      onSuccess: (f) =>
        announce(
          f.enabled
            ? `Flavor ${f.name} is enabled: the launch form offers it again.`
            : `Flavor ${f.name} is disabled: the launch form no longer offers it. Instances launched with it keep their size.`,
        ),
    }),
  );
  const remove = useMutation(trpc.admin.flavors.delete.mutationOptions());
  const actionError = toggle.error ?? remove.error;

  async function deleteFlavor(f: Flavor) {
    setNotice(null);
    toggle.reset();
    if (editingId === f.id) setEditingId(null);
    try {
      await remove.mutateAsync({ flavorId: f.id });
      await announce(`Flavor ${f.name} was deleted. Instances launched with it keep their size.`);
    } catch {
      // Shown from remove.error above the table.
    }
  }

  // Closing the edit form puts the keyboard back on the row's Edit button, not at the top of the page.
  const closeEditor = (flavorId: string) => {
    setEditingId(null);
    requestAnimationFrame(() => document.querySelector<HTMLButtonElement>(`[data-edit-flavor="${flavorId}"]`)?.focus());
  };

  const flavors = list.data ?? [];
  const editing = flavors.find((f) => f.id === editingId) ?? null;
  return (
    <div className="space-y-6">
      <FormAlert tone="success" message={notice} />
      {actionError ? <FormAlert message={describeError(actionError).message} /> : null}
      {list.isPending ? <p role="status">Loading flavors…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && flavors.length === 0 ? (
        <p className="text-sm text-slate-600">There are no flavors: tenants set every size by hand. Create one below.</p>
      ) : null}
      {flavors.length > 0 ? (
        <DataTable<Flavor>
          caption="Flavors"
          rowKey={(f) => f.id}
          rows={flavors}
          columns={[
            { header: 'Name', cell: (f) => <span className="font-medium">{f.name}</span> },
            { header: 'vCPUs', cell: (f) => f.vcpus, className: 'text-right tabular-nums' },
            { header: 'Memory', cell: (f) => `${f.memoryMiB} MiB`, className: 'text-right tabular-nums whitespace-nowrap' },
            { header: 'Disk', cell: (f) => `${f.diskGiB} GiB`, className: 'text-right tabular-nums whitespace-nowrap' },
            { header: 'NICs', cell: (f) => f.nics, className: 'text-right tabular-nums' },
            { header: 'Status', cell: (f) => <StatusBadge enabled={f.enabled} /> },
            {
              header: 'Actions',
              cell: (f) => (
                <div className="flex flex-wrap gap-2">
                  <Button
                    variant="secondary"
                    aria-label={`Edit ${f.name}`}
                    data-edit-flavor={f.id}
                    aria-expanded={editingId === f.id}
                    onClick={() => {
                      setNotice(null);
                      setEditingId(editingId === f.id ? null : f.id);
                    }}
                  >
                    Edit
                  </Button>
                  <Button
                    variant="secondary"
                    aria-label={`${f.enabled ? 'Disable' : 'Enable'} ${f.name}`}
                    busy={toggle.isPending && toggle.variables?.flavorId === f.id}
                    onClick={() => {
                      setNotice(null);
                      remove.reset();
                      toggle.mutate({ flavorId: f.id, enabled: !f.enabled });
                    }}
                  >
                    {f.enabled ? 'Disable' : 'Enable'}
                  </Button>
                  <ConfirmButton
                    aria-label={`Delete ${f.name}`}
                    question={`Delete flavor ${f.name}? Instances launched with it keep their size.`}
                    confirmLabel="Delete"
                    busy={remove.isPending && remove.variables?.flavorId === f.id}
                    onConfirm={() => void deleteFlavor(f)}
                  >
                    Delete
                  </ConfirmButton>
                </div>
              ),
            },
          ]}
        />
      ) : null}
      {editing ? (
        <FlavorEditor
          key={editing.id}
          flavor={editing}
          onDone={async (message) => {
            closeEditor(editing.id);
            await announce(message);
          }}
          onClose={() => closeEditor(editing.id)}
        />
      ) : null}
      <Card title="New flavor" description="A size preset on the launch form. Tenants can still set any size within their quota by hand.">
        <FlavorForm
          onDone={async (message) => {
            setNotice(null);
            await announce(message);
          }}
        />
      </Card>
    </div>
  );
}

/** The edit form for one flavor, brought into view with its first field focused. */
function FlavorEditor({ flavor, onDone, onClose }: { flavor: Flavor; onDone: (message: string) => Promise<void>; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'nearest' });
    ref.current?.querySelector('input')?.focus();
  }, []);
  return (
    <div ref={ref}>
      <Card title={`Edit flavor ${flavor.name}`} description="Changes apply to new launches; instances launched with it keep their size.">
        <FlavorForm flavor={flavor} onDone={onDone} onCancel={onClose} />
      </Card>
    </div>
  );
}
