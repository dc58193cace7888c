'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert } from '../../ui/field';
import { Card } from '../../ui/page';
import { DataTable, formatDateTime } from '../../ui/table';

type Move = RouterOutputs['admin']['hosts']['migrations'][number];
type Host = RouterOutputs['admin']['hosts']['list'][number];

const ACTIVE = new Set(['queued', 'preparing', 'copying', 'switching']);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** Where a move has come to, in words and as a progress bar screen readers read. */
function Progress({ m }: { m: Move }) {
  if (m.state === 'completed') return <span>done{m.downtimeMs !== null ? `, paused ${m.downtimeMs} ms` : ''}</span>;
  if (m.state === 'failed') return <span className="text-red-800">failed: {m.error}</span>;
  const p = m.progress;
  if (!p || p.totalBytes === 0) return <span>{m.state}…</span>;
  const pct = Math.min(100, Math.round((100 * p.doneBytes) / p.totalBytes));
  const label = `${p.phase === 'disk' ? 'Disk' : 'Memory'} ${mib(p.doneBytes)} of ${mib(p.totalBytes)}`;
  return (
    <span className="block min-w-40">
      <span className="text-xs">{label}</span>
      <span role="progressbar" aria-label={`${m.instanceName}: ${label}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} className="mt-1 block h-1.5 w-full rounded bg-slate-200">
        <span className="block h-1.5 rounded bg-sky-600" style={{ width: `${pct}%` }} />
      </span>
    </span>
  );
}

/** Moves under way between hosts, and those that ended within the hour (refreshed while any runs). */
export function MigrationList({ hosts }: { hosts: Host[] }) {
  const trpc = useTRPC();
  const list = useQuery(
    trpc.admin.hosts.migrations.queryOptions(undefined, { refetchInterval: (q) => ((q.state.data ?? []).some((m) => ACTIVE.has(m.state)) ? 2_000 : 15_000) }),
  );
  const queryClient = useQueryClient();
  const cancel = useMutation(trpc.admin.instances.cancelMigration.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.hosts.pathKey() }) }));
  const name = (id: string) => hosts.find((h) => h.id === id)?.name ?? id.slice(0, 8);
  const moves = list.data ?? [];
  return (
    <Card title="Moves" description="Instances moving between hosts: live while they run (memory and disk copied as they run, then a pause of a few milliseconds), as a copy of their disk while stopped.">
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {cancel.error ? <FormAlert message={describeError(cancel.error).message} /> : null}
      {list.data && moves.length === 0 ? <p className="text-sm text-slate-600">No instance has moved in the last hour.</p> : null}
      {moves.length > 0 ? (
        <DataTable<Move>
          caption="Moves between hosts"
          rowKey={(m) => m.id}
          rows={moves}
          columns={[
            { header: 'Instance', cell: (m) => <span className="font-medium">{m.instanceName}</span> },
            { header: 'From', cell: (m) => name(m.sourceHostId) },
            { header: 'To', cell: (m) => name(m.targetHostId) },
            { header: 'How', cell: (m) => `${m.kind === 'live' ? 'live' : 'stopped'}${m.reason === 'evacuation' ? ', evacuation' : ''}` },
            { header: 'Progress', cell: (m) => <Progress m={m} /> },
            { header: 'Asked', cell: (m) => formatDateTime(m.createdAt), className: 'whitespace-nowrap' },
            {
              header: 'Actions',
              cell: (m) =>
                ACTIVE.has(m.state) ? (
                  <Button
                    variant="secondary"
                    aria-label={`Cancel the move of ${m.instanceName}`}
                    busy={cancel.isPending && cancel.variables?.migrationId === m.id}
                    disabledReason={m.state === 'switching' ? 'It is switching over: too late to cancel.' : m.cancelRequestedAt ? 'Cancelling…' : undefined}
                    onClick={() => cancel.mutate({ migrationId: m.id })}
                  >
                    Cancel
                  </Button>
                ) : null,
            },
          ]}
        />
      ) : null}
    </Card>
  );
}
