'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useState } from 'react';
import { MAX_VOLUMES_PER_INSTANCE } from '@/server/storage/validation';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { DataTable } from '../ui/table';
import { anyBusy, attachWhyNot, detachWhyNot, formatIo, type Volume } from '../volumes/volume-rules';
import { VolumeStateCell } from '../volumes/volume-state';
import { roleReason, type Instance } from './format';

/** The volumes attached to an instance (Detach on each) and a control to attach one of the tenant's available volumes. */
export function InstanceVolumes({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const terminated = instance.state === 'terminated';
  const list = useQuery({
    ...trpc.volumes.list.queryOptions({ tenantId: tenant.id, instanceId: instance.id, limit: 100 }),
    refetchInterval: (q) => (terminated ? false : anyBusy(q.state.data?.items ?? []) ? 1_000 : 5_000),
  });
  // Candidates to attach: the tenant's volumes (the first 100), of which the available ones are offered.
  const all = useQuery({ ...trpc.volumes.list.queryOptions({ tenantId: tenant.id, limit: 100 }), enabled: !terminated, refetchInterval: 5_000 });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.volumes.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
  };
  const options = { onMutate: () => (setNotice(null), setError(null)), onError: (e: unknown) => setError(describeError(e).message), onSettled: refresh };
  const attach = useMutation(trpc.volumes.attach.mutationOptions(options));
  const detach = useMutation(trpc.volumes.detach.mutationOptions(options));
  const roleNo = roleReason(tenant.role, 'volumes');
  const rows = list.data?.items ?? [];
  const available = (all.data?.items ?? []).filter((v) => v.state === 'available');
  return (
    <div className="space-y-4">
      <FormAlert tone="success" message={notice} />
      <FormAlert message={error} />
      {list.isPending ? <p role="status">Loading volumes…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && rows.length === 0 ? <p className="text-sm text-slate-600">No volume is attached to this instance.</p> : null}
      {rows.length > 0 ? (
        <DataTable<Volume>
          caption={`Volumes of ${instance.name}`}
          rowKey={(v) => v.id}
          rows={rows}
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
            { header: 'Size', cell: (v) => `${v.sizeGiB} GiB`, className: 'whitespace-nowrap tabular-nums' },
            { header: 'Performance', cell: formatIo, className: 'whitespace-nowrap tabular-nums' },
            { header: 'State', cell: (v) => <VolumeStateCell volume={v} /> },
            {
              header: 'Actions',
              cell: (v) => (
                <ConfirmButton
                  aria-label={`Detach volume ${v.name}`}
                  question={`Detach ${v.name} from ${instance.name}?${instance.state === 'running' ? ' The guest is asked to let go of it first.' : ''}`}
                  confirmLabel="Detach"
                  disabledReason={roleNo ?? detachWhyNot(v)}
                  busy={detach.isPending && detach.variables?.volumeId === v.id}
                  onConfirm={() => detach.mutate({ tenantId: tenant.id, volumeId: v.id }, { onSuccess: () => setNotice(`Detaching volume ${v.name}…`) })}
                >
                  Detach
                </ConfirmButton>
              ),
            },
          ]}
        />
      ) : null}
      {terminated ? null : (
        <AttachVolume
          instance={instance}
          available={all.data ? available : undefined}
          attachedCount={rows.length}
          notAllowed={roleNo}
          busy={attach.isPending}
          onAttach={(v) =>
            attach.mutate(
              { tenantId: tenant.id, volumeId: v.id, instanceId: instance.id },
              { onSuccess: () => setNotice(`Attaching volume ${v.name}${instance.state === 'running' ? ': it is hot-plugged into the running guest' : ''}…`) },
            )
          }
        />
      )}
    </div>
  );
}

function AttachVolume({
  instance,
  available,
  attachedCount,
  notAllowed,
  busy,
  onAttach,
}: {
  instance: Instance;
  available: Volume[] | undefined;
  attachedCount: number;
  notAllowed?: string;
  busy: boolean;
  onAttach: (v: Volume) => void;
}) {
  const tenant = useTenant();
  const id = useId();
  const [volumeId, setVolumeId] = useState('');
  const chosen = available?.find((v) => v.id === volumeId);
  const instanceNo =
    attachWhyNot({ state: 'available' }, instance.state) ??
    (attachedCount >= MAX_VOLUMES_PER_INSTANCE ? `It has ${attachedCount} volumes attached, the most an instance can have.` : undefined);
  const reason =
    notAllowed ??
    instanceNo ??
    (available === undefined ? 'The volumes are loading.' : available.length === 0 ? 'No volume of this tenant is available.' : !chosen ? 'Choose a volume to attach.' : undefined);
  return (
    <div className="space-y-2 border-t border-slate-100 pt-4">
      <h3 className="text-sm font-semibold text-slate-900">Attach a volume</h3>
      <div className="flex flex-wrap items-end gap-2">
        <div className="space-y-1">
          <label htmlFor={id} className="block text-sm font-medium text-slate-800">
            Available volume
          </label>
          <select
            id={id}
            value={volumeId}
            onChange={(e) => setVolumeId(e.target.value)}
            className="block rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500"
          >
            <option value="">Choose a volume…</option>
            {(available ?? []).map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} ({v.sizeGiB} GiB, {v.id})
              </option>
            ))}
          </select>
        </div>
        <Button
          variant="secondary"
          disabledReason={reason}
          busy={busy}
          onClick={() => {
            if (!chosen) return;
            onAttach(chosen);
            setVolumeId('');
          }}
        >
          Attach volume
        </Button>
      </div>
      <p className="text-xs text-slate-600">
        {instance.state === 'running' ? 'A running guest sees a new disk at once.' : 'A stopped instance has it from its next start.'} Make volumes on the{' '}
        <Link href={`/t/${tenant.slug}/volumes`} className="text-sky-800 underline">
          Volumes
        </Link>{' '}
        page.
      </p>
    </div>
  );
}
