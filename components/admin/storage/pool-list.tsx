'use client';

import { useQuery } from '@tanstack/react-query';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Badge } from '../../ui/badge';
import { FormAlert } from '../../ui/field';
import { formatBytes, GiB } from '../../ui/format-bytes';
import { Card } from '../../ui/page';
import { DataTable } from '../../ui/table';
import { PoolForm } from './pool-form';

type Pool = RouterOutputs['admin']['storage']['list'][number];

/** The storage pools with what they may promise, have promised and hold, and a form per pool. */
export function PoolList() {
  const trpc = useTRPC();
  // Volumes come and go under it: refresh now and then.
  const list = useQuery(trpc.admin.storage.list.queryOptions(undefined, { refetchInterval: 15_000 }));
  const pools = list.data ?? [];
  return (
    <div className="space-y-6">
      <Card
        title="Storage pools"
        description="Capacity is what volumes may be promised from a pool; allocated is what they have been promised (their sizes), used what their files take on disk."
      >
        {list.isPending ? <p role="status">Loading storage pools…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && pools.length === 0 ? <p className="text-sm text-slate-600">No storage pool has registered yet: each host registers its own when it starts.</p> : null}
        {pools.length > 0 ? (
          <DataTable<Pool>
            caption="Storage pools"
            rowKey={(p) => p.id}
            rows={pools}
            columns={[
              {
                header: 'Name',
                cell: (p) => (
                  <span className="block min-w-40">
                    <span className="font-medium">{p.name}</span>
                    <span className="block text-xs break-all text-slate-500">
                      {p.kind} · {p.path}
                    </span>
                  </span>
                ),
              },
              {
                header: 'Host',
                cell: (p) => (
                  <span className="whitespace-nowrap">
                    {p.hostName}{' '}
                    <Badge tone={p.hostState === 'enabled' ? 'emerald' : p.hostState === 'maintenance' ? 'amber' : 'slate'}>{p.hostState}</Badge>
                  </span>
                ),
              },
              { header: 'Capacity', cell: (p) => `${Math.floor(p.capacityBytes / GiB)} GiB`, className: 'whitespace-nowrap tabular-nums' },
              {
                header: 'Allocated',
                cell: (p) => (
                  <span className="block whitespace-nowrap tabular-nums">
                    {p.allocatedGiB} GiB
                    <span className="block text-xs text-slate-500">{Math.max(0, Math.floor(p.capacityBytes / GiB) - p.allocatedGiB)} GiB free</span>
                  </span>
                ),
              },
              { header: 'Used', cell: (p) => formatBytes(p.usedBytes), className: 'whitespace-nowrap tabular-nums' },
              { header: 'Volumes', cell: (p) => p.volumes, className: 'tabular-nums' },
              {
                header: 'Enabled',
                cell: (p) => (p.enabled ? <Badge tone="emerald">in service</Badge> : <Badge tone="amber">out of service</Badge>),
              },
            ]}
          />
        ) : null}
      </Card>
      {pools.map((p) => (
        <PoolForm key={`${p.id}:${p.capacityBytes}`} pool={p} />
      ))}
    </div>
  );
}
