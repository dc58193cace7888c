'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { roleReason } from '../instances/format';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { formatBytes } from '../ui/format-bytes';
import { Card, EmptyState } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';

type OwnImage = RouterOutputs['images']['own'][number];
type Launchable = RouterOutputs['images']['list'][number];

function ImageState({ image: i }: { image: OwnImage }) {
  const p = i.progress;
  const pct = p && p.totalBytes > 0 ? Math.min(100, Math.floor((p.doneBytes / p.totalBytes) * 100)) : null;
  return (
    <span className="inline-flex flex-col gap-1">
      <span>{i.state}</span>
      {i.state === 'creating' || i.state === 'deleting' ? (
        <progress className="h-1.5 w-24 accent-sky-700" aria-label={`${i.name}: ${i.state}${pct !== null ? ` ${pct}%` : ''}`} max={100} value={pct ?? undefined} />
      ) : null}
      {i.stateReason ? <span className={`max-w-64 text-xs ${i.state === 'error' ? 'text-red-700' : 'text-slate-600'}`}>{i.stateReason}</span> : null}
    </span>
  );
}

/** The tenant's own images (state, size, where each came from, Delete) and every image it can launch. */
export function ImagesPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const own = useQuery({
    ...trpc.images.own.queryOptions({ tenantId: tenant.id }),
    refetchInterval: (q) => ((q.state.data ?? []).some((i) => i.state === 'creating' || i.state === 'deleting') ? 1_000 : false),
  });
  const launchable = useQuery(trpc.images.list.queryOptions({ tenantId: tenant.id }));
  // One of its own became launchable after the list was read (the two are read side by side): read the list again.
  const missing = (own.data ?? []).some((i) => i.state === 'available' && i.enabled && !(launchable.data ?? []).some((l) => l.id === i.id));
  const settled = launchable.isSuccess && !launchable.isFetching;
  useEffect(() => {
    if (missing && settled) void queryClient.invalidateQueries({ queryKey: trpc.images.list.queryKey({ tenantId: tenant.id }) });
  }, [missing, settled, queryClient, trpc, tenant.id]);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const remove = useMutation(
    trpc.images.delete.mutationOptions({
      onMutate: () => setMessage(null),
      onSuccess: () => setMessage({ text: 'Image deleted: it is no longer billed.', tone: 'success' }),
      onError: (e) => setMessage({ text: describeError(e).message, tone: 'error' }),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() }),
    }),
  );
  const roleNo = roleReason(tenant.role);
  const rows = own.data ?? [];
  const base = `/t/${tenant.slug}/instances`;
  return (
    <div className="space-y-6">
      <Card title="Your images" description="Made from your instances with “Make image” on an instance’s page; billed as storage by the bytes they take.">
        <div className="space-y-4">
          <FormAlert message={message?.text} tone={message?.tone} />
          {own.isPending ? <p role="status">Loading images…</p> : null}
          {own.error ? <FormAlert message={describeError(own.error).message} /> : null}
          {own.data && rows.length === 0 ? (
            <EmptyState title="No images of your own yet">
              <p>Open an instance and use “Make image”: its disk (now, or as a snapshot holds it) becomes an image you can launch new instances from.</p>
            </EmptyState>
          ) : null}
          {rows.length > 0 ? (
            <DataTable<OwnImage>
              caption="Your images"
              rowKey={(i) => i.id}
              rows={rows}
              columns={[
                { header: 'Name', cell: (i) => <span className="font-medium break-all text-slate-900">{i.name}</span> },
                { header: 'ID', cell: (i) => <code className="font-mono text-xs">{i.id}</code> },
                { header: 'State', cell: (i) => <ImageState image={i} /> },
                { header: 'Size', cell: (i) => (i.state === 'available' ? formatBytes(i.sizeBytes) : '—'), className: 'whitespace-nowrap' },
                { header: 'Disk', cell: (i) => `${i.minDiskGiB} GiB`, className: 'whitespace-nowrap' },
                {
                  header: 'Made from',
                  cell: (i) =>
                    i.sourceInstanceId ? (
                      <Link className="font-mono text-xs text-sky-800 hover:underline" href={`${base}/${i.sourceInstanceId}`}>
                        {i.sourceInstanceId}
                        {i.sourceSnapshotId ? ` · ${i.sourceSnapshotId}` : ''}
                      </Link>
                    ) : (
                      '—'
                    ),
                },
                { header: 'Shared', cell: (i) => (i.published ? 'with every tenant' : 'no') },
                { header: 'Made', cell: (i) => formatDateTime(i.createdAt), className: 'whitespace-nowrap' },
                {
                  header: 'Actions',
                  cell: (i) => (
                    <ConfirmButton
                      aria-label={`Delete image ${i.name}`}
                      question={`Delete image “${i.name}”? Instances can no longer be launched from it.`}
                      confirmLabel="Delete"
                      disabledReason={roleNo ?? (i.state !== 'available' && i.state !== 'error' ? `This image is ${i.state}.` : undefined)}
                      busy={remove.isPending && remove.variables?.imageId === i.id}
                      onConfirm={() => remove.mutate({ tenantId: tenant.id, imageId: i.id })}
                    >
                      Delete
                    </ConfirmButton>
                  ),
                },
              ]}
            />
          ) : null}
        </div>
      </Card>
      <Card title="Images you can launch" description="Built images, your own available ones and those an administrator shared with every tenant.">
        {launchable.error ? <FormAlert message={describeError(launchable.error).message} /> : null}
        <DataTable<Launchable>
          caption="Images you can launch"
          rowKey={(i) => i.id}
          rows={launchable.data ?? []}
          columns={[
            { header: 'Name', cell: (i) => <span className="font-medium text-slate-900">{i.name}</span> },
            { header: 'ID', cell: (i) => <code className="font-mono text-xs">{i.id}</code> },
            { header: 'From', cell: (i) => (!i.captured ? 'built by Cirrus' : i.ownerTenantId === tenant.id ? 'yours' : 'shared by another tenant') },
            { header: 'OS', cell: (i) => `${i.osFamily} ${i.osVersion}`.trim() },
            { header: 'Needs', cell: (i) => `${i.minVcpus} vCPU, ${i.minMemoryMiB} MiB, ${i.minDiskGiB} GiB`, className: 'whitespace-nowrap' },
          ]}
        />
      </Card>
    </div>
  );
}
