'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';
import { FormAlert } from '../../ui/field';
import { EmptyState } from '../../ui/page';
import { DataTable, formatDateTime } from '../../ui/table';
import { formatBytes } from '../../ui/format-bytes';
import { StatusBadge } from './status-badge';
import { featureLabels, osLabel } from '../../instances/image-facts';

type Image = RouterOutputs['admin']['images']['list'][number];

/** The guest images built on this host and tenants' own: footprint, minimums, who uses them, and whether tenants may launch them. */
export function ImagesAdmin() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.admin.images.list.queryOptions());
  const [notice, setNotice] = useState<string | null>(null);
  const setEnabled = useMutation(
    trpc.admin.images.setEnabled.mutationOptions({
      onSuccess: async (r) => {
        const image = list.data?.find((i) => i.id === r.id);
        const name = image?.name ?? r.id;
        await queryClient.invalidateQueries({ queryKey: trpc.admin.images.list.queryKey() });
        setNotice(
          r.enabled
            ? `${name} is enabled: tenants can launch it again.`
            : `${name} is disabled: new launches of it are refused; instances made from it${
                image ? ` (${image.instances} now)` : ''
              } keep running.`,
        );
      },
    }),
  );
  const setPublished = useMutation(
    trpc.admin.images.setPublished.mutationOptions({
      onSuccess: async (r) => {
        const name = list.data?.find((i) => i.id === r.id)?.name ?? r.id;
        await queryClient.invalidateQueries({ queryKey: trpc.admin.images.list.queryKey() });
        setNotice(r.published ? `${name} is shared: every tenant can launch it.` : `${name} is private to its tenant again; instances launched from it keep running.`);
      },
    }),
  );
  const publish = (image: Image, published: boolean) => {
    setNotice(null);
    setPublished.mutate({ imageId: image.id, published });
  };
  const change = (image: Image, enabled: boolean) => {
    setNotice(null);
    setEnabled.mutate({ imageId: image.id, enabled });
  };

  const images = list.data ?? [];
  return (
    <div className="space-y-6">
      <FormAlert tone="success" message={notice} />
      {setEnabled.error ? <FormAlert message={describeError(setEnabled.error).message} /> : null}
      {setPublished.error ? <FormAlert message={describeError(setPublished.error).message} /> : null}
      {list.isPending ? <p role="status">Loading images…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && images.length === 0 ? (
        <EmptyState title="No images yet">
          Build the guest images on the host with <code className="rounded bg-slate-100 px-1">npm run images</code>, then restart Cirrus: it
          registers the images it finds when it starts.
        </EmptyState>
      ) : null}
      {images.length > 0 ? (
        <DataTable<Image>
          caption="Images"
          rowKey={(i) => i.id}
          rows={images}
          columns={[
            {
              header: 'Image',
              cell: (i) => (
                <span className="block max-w-64">
                  <span className="block font-medium">{i.name}</span>
                  <span className="block font-mono text-xs text-slate-500">{i.id}</span>
                  {i.description ? <span className="mt-1 block text-xs text-slate-600">{i.description}</span> : null}
                  {i.captured ? (
                    <span className="mt-1 block text-xs text-slate-700">
                      Of tenant {i.ownerName ?? '(deleted)'} · {i.state} · {i.published ? 'shared with every tenant' : 'private to its tenant'}
                    </span>
                  ) : null}
                </span>
              ),
            },
            {
              header: 'System',
              cell: (i) => (
                <span className="block text-sm">
                  {osLabel(i)} · {i.architecture}
                  <span className="block text-xs text-slate-600">{i.loginUser ? `login user ${i.loginUser}` : 'no login user'}</span>
                  <span className="block text-xs text-slate-600">{featureLabels(i).join(', ') || 'no cloud-init, agent or hotplug'}</span>
                </span>
              ),
            },
            {
              header: 'Minimums',
              cell: (i) => (
                <span className="block whitespace-nowrap tabular-nums">
                  {i.minVcpus} vCPU{i.minVcpus === 1 ? '' : 's'}
                  <span className="block">{i.minMemoryMiB} MiB memory</span>
                  <span className="block">{i.minDiskGiB} GiB disk</span>
                </span>
              ),
            },
            // 0: not measured yet (registered before sizes were recorded; the next start measures it).
            { header: 'On disk', cell: (i) => (i.sizeBytes ? formatBytes(i.sizeBytes) : '—'), className: 'text-right tabular-nums whitespace-nowrap' },
            { header: 'Virtual disk', cell: (i) => (i.virtualSizeBytes ? formatBytes(i.virtualSizeBytes) : '—'), className: 'text-right tabular-nums whitespace-nowrap' },
            { header: 'Built', cell: (i) => formatDateTime(i.builtAt) },
            { header: 'Instances', cell: (i) => i.instances, className: 'text-right tabular-nums' },
            { header: 'Status', cell: (i) => <StatusBadge enabled={i.enabled} /> },
            {
              header: 'Actions',
              cell: (i) => {
                const busy = setEnabled.isPending && setEnabled.variables?.imageId === i.id;
                const publishing = setPublished.isPending && setPublished.variables?.imageId === i.id;
                const share = i.captured ? (
                  i.published ? (
                    <Button variant="secondary" aria-label={`Stop sharing ${i.name}`} busy={publishing} onClick={() => publish(i, false)}>
                      Unpublish
                    </Button>
                  ) : (
                    <ConfirmButton
                      aria-label={`Publish ${i.name}`}
                      question={`Publish ${i.name} to every tenant? Any tenant can then launch instances from it.`}
                      confirmLabel="Publish"
                      disabledReason={i.state !== 'available' ? `This image is ${i.state}.` : undefined}
                      busy={publishing}
                      onConfirm={() => publish(i, true)}
                    >
                      Publish
                    </ConfirmButton>
                  )
                ) : null;
                // While the question is asked it gets room to read, instead of a column as narrow as the button.
                const toggle = i.enabled ? (
                  <div className="has-[[role=group]]:w-56">
                    <ConfirmButton
                      aria-label={`Disable ${i.name}`}
                      question={`Disable ${i.name}? Instances made from it keep running (${i.instances} now); only new launches are refused.`}
                      confirmLabel="Disable"
                      busy={busy}
                      onConfirm={() => change(i, false)}
                    >
                      Disable
                    </ConfirmButton>
                  </div>
                ) : (
                  <Button variant="secondary" aria-label={`Enable ${i.name}`} busy={busy} onClick={() => change(i, true)}>
                    Enable
                  </Button>
                );
                return (
                  <div className="flex flex-wrap gap-2">
                    {toggle}
                    {share}
                  </div>
                );
              },
            },
          ]}
        />
      ) : null}
    </div>
  );
}
