'use client';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRef, useState } from 'react';
import { roleReason } from '../instances/format';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { formatBytes } from '../ui/format-bytes';
import { Card, EmptyState } from '../ui/page';
import { Pager, useKeysetPages } from '../ui/pager';
import { DataTable, formatDateTime } from '../ui/table';
import { AttachToInstance } from './attach-to-instance';
import { CreateVolumeForm, type VolumePrices } from './create-volume-form';
import { anyBusy, deleteWhyNot, detachWhyNot, formatIo, VOLUMES_PAGE_SIZE, type Volume } from './volume-rules';
import { VolumeStateCell } from './volume-state';

/** The tenant's volumes a page at a time, with Attach, Detach and Delete on each, and the form that makes one. */
export function VolumesPanel({ prices, hoursPerMonth }: { prices: VolumePrices; hoursPerMonth: number }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pages = useKeysetPages();
  const list = useQuery({
    ...trpc.volumes.list.queryOptions({ tenantId: tenant.id, cursor: pages.cursor, limit: VOLUMES_PAGE_SIZE }),
    placeholderData: keepPreviousData,
    // Jobs move volumes along: every second while one is on its way, now and then otherwise.
    refetchInterval: (q) => (anyBusy(q.state.data?.items ?? []) ? 1_000 : 5_000),
  });
  // What a volume can be attached to (the first 100; the server refuses the rest with its reason).
  const instances = useQuery({
    ...trpc.instances.list.queryOptions({ tenantId: tenant.id, states: ['running', 'stopped'], limit: 100, sort: 'name' }),
    refetchInterval: 5_000,
  });
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.volumes.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
  };
  const options = {
    onMutate: () => setMessage(null),
    onError: (e: unknown) => setMessage({ text: describeError(e).message, tone: 'error' as const }),
    onSettled: refresh,
  };
  const attach = useMutation(trpc.volumes.attach.mutationOptions(options));
  const detach = useMutation(trpc.volumes.detach.mutationOptions(options));
  const remove = useMutation(trpc.volumes.delete.mutationOptions(options));
  const volumes = list.data?.items ?? [];
  const notAllowed = roleReason(tenant.role, 'volumes');

  function onAttach(v: Volume, instanceId: string) {
    const to = instances.data?.items.find((i) => i.id === instanceId)?.name ?? instanceId;
    attach.mutate(
      { tenantId: tenant.id, volumeId: v.id, instanceId },
      { onSuccess: () => setMessage({ text: `Attaching volume ${v.name} to ${to}…`, tone: 'success' }) },
    );
  }

  function onDelete(v: Volume) {
    remove.mutate(
      { tenantId: tenant.id, volumeId: v.id },
      {
        onSuccess: () => {
          setMessage({ text: `Deleting volume ${v.name}. Its billing has ended.`, tone: 'success' });
          // The last row of a later page is going: show the page before it.
          if (volumes.length === 1 && pages.number > 1) pages.previous();
        },
        // The row (and its button) goes: keep the keyboard in the list rather than at the top of the page.
        onSettled: () => listRef.current?.focus(),
      },
    );
  }

  const firstPageEmpty = list.data && volumes.length === 0 && pages.number === 1;
  return (
    <div className="space-y-6">
      <Card title="Volumes" description="Block storage that outlives instances: attach a volume to a running or stopped instance, one instance at a time.">
        <div ref={listRef} tabIndex={-1} className="space-y-4 focus:outline-none">
          <FormAlert message={message?.text} tone={message?.tone} />
          {list.isPending ? <p role="status">Loading volumes…</p> : null}
          {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
          {firstPageEmpty ? (
            <EmptyState title="No volumes yet">
              <p>A volume is a disk of its own: make one below, attach it to an instance, and it keeps its data when the instance is gone.</p>
            </EmptyState>
          ) : null}
          {volumes.length > 0 ? (
            <DataTable<Volume>
              caption="Volumes"
              rowKey={(v) => v.id}
              rows={volumes}
              columns={[
                {
                  header: 'Name',
                  cell: (v) => (
                    <span className="block min-w-32">
                      <span className="font-medium break-all text-slate-900">{v.name}</span>
                      <code className="block font-mono text-xs text-slate-500">{v.id}</code>
                    </span>
                  ),
                },
                {
                  header: 'Size',
                  cell: (v) => (
                    <span className="block whitespace-nowrap tabular-nums">
                      {v.sizeGiB} GiB
                      <span className="block text-xs text-slate-500" title="What it takes in its pool now">
                        {v.state === 'creating' ? '—' : `${formatBytes(v.allocatedBytes)} used`}
                      </span>
                    </span>
                  ),
                },
                { header: 'Performance', cell: formatIo, className: 'whitespace-nowrap tabular-nums' },
                { header: 'State', cell: (v) => <VolumeStateCell volume={v} /> },
                {
                  header: 'Attached to',
                  cell: (v) =>
                    v.instanceId ? (
                      <Link href={`/t/${tenant.slug}/instances/${v.instanceId}`} className="font-medium break-all text-sky-800 hover:underline">
                        {v.instanceName ?? v.instanceId}
                      </Link>
                    ) : (
                      '—'
                    ),
                },
                { header: 'Created', cell: (v) => formatDateTime(v.createdAt), className: 'whitespace-nowrap' },
                {
                  header: 'Actions',
                  cell: (v) => (
                    <div className="flex flex-wrap gap-2">
                      {v.instanceId ? (
                        <ConfirmButton
                          aria-label={`Detach volume ${v.name}`}
                          question={`Detach ${v.name} from ${v.instanceName ?? v.instanceId}? A running guest is asked to let go of it first.`}
                          confirmLabel="Detach"
                          disabledReason={notAllowed ?? detachWhyNot(v)}
                          busy={detach.isPending && detach.variables?.volumeId === v.id}
                          onConfirm={() => detach.mutate({ tenantId: tenant.id, volumeId: v.id })}
                        >
                          Detach
                        </ConfirmButton>
                      ) : (
                        <AttachToInstance
                          volume={v}
                          instances={instances.data?.items}
                          notAllowed={notAllowed}
                          busy={attach.isPending && attach.variables?.volumeId === v.id}
                          onAttach={(instanceId) => onAttach(v, instanceId)}
                        />
                      )}
                      <ConfirmButton
                        aria-label={`Delete volume ${v.name}`}
                        question={`Delete volume ${v.name}? Its data is gone for good.`}
                        confirmLabel="Delete"
                        disabledReason={notAllowed ?? deleteWhyNot(v)}
                        busy={remove.isPending && remove.variables?.volumeId === v.id}
                        onConfirm={() => onDelete(v)}
                      >
                        Delete
                      </ConfirmButton>
                    </div>
                  ),
                },
              ]}
            />
          ) : null}
          {list.data && volumes.length === 0 && pages.number > 1 ? <p className="text-sm text-slate-600">No volumes on this page.</p> : null}
          {firstPageEmpty ? null : <Pager label="Pages of volumes" pages={pages} nextCursor={list.isPlaceholderData ? undefined : list.data?.nextCursor} />}
        </div>
      </Card>
      <Card title="Create a volume" description="A blank disk in this cloud’s storage, billed by its size while it exists, and by the IOPS and throughput above the included baseline.">
        <CreateVolumeForm prices={prices} hoursPerMonth={hoursPerMonth} />
      </Card>
    </div>
  );
}
