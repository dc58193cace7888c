'use client';

import { useQuery } from '@tanstack/react-query';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';
import { formatMoney } from './money';
import { PriceForm } from './price-form';
import type { RouterOutputs } from '@/server/trpc/root';
import { Badge } from '../ui/badge';

type PriceVersion = RouterOutputs['admin']['prices']['list'][number];

/** The price versions (newest first, the one in force marked) and the form for the next one. */
export function PriceBook() {
  const trpc = useTRPC();
  const list = useQuery(trpc.admin.prices.list.queryOptions());
  const versions = list.data ?? [];
  // "Now" is when the list was read, so the marks match the data shown.
  const now = list.dataUpdatedAt;
  // Newest first: the first version that has started is the one in force.
  const inForce = versions.find((v) => v.effectiveFrom.getTime() <= now)?.id;
  const price = (micro: number, v: PriceVersion) => formatMoney(micro, v.currency);
  const amount = 'text-right tabular-nums whitespace-nowrap';
  return (
    <div className="space-y-6">
      <Card title="Versions" description="Prices per unit-hour. Memory and disk are per GiB.">
        {list.isPending ? <p role="status">Loading prices…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data ? (
          <DataTable<PriceVersion>
            caption="Price versions"
            rowKey={(v) => String(v.id)}
            rows={versions}
            columns={[
              { header: 'Effective from', cell: (v) => formatDateTime(v.effectiveFrom), className: 'whitespace-nowrap' },
              {
                header: 'Status',
                cell: (v) =>
                  v.id === inForce ? (
                    <Badge tone="emerald">in force</Badge>
                  ) : v.effectiveFrom.getTime() > now ? (
                    <Badge tone="sky">scheduled</Badge>
                  ) : (
                    <span className="text-xs text-slate-500">past</span>
                  ),
              },
              { header: 'vCPU-hour', cell: (v) => price(v.vcpuHour, v), className: amount },
              { header: 'GiB RAM-hour', cell: (v) => price(v.memoryGiBHour, v), className: amount },
              { header: 'GiB disk-hour', cell: (v) => price(v.diskGiBHour, v), className: amount },
              { header: 'NIC-hour', cell: (v) => price(v.nicHour, v), className: amount },
              { header: 'Mbit/s-hour', cell: (v) => price(v.bandwidthMbitHour, v), className: amount },
              { header: 'Forward-hour', cell: (v) => price(v.portForwardHour, v), className: amount },
              { header: 'GiB saved-state-hour', cell: (v) => price(v.savedStateGiBHour, v), className: amount },
              { header: 'GiB snapshot-hour', cell: (v) => price(v.snapshotGiBHour, v), className: amount },
              { header: 'GiB image-hour', cell: (v) => price(v.imageGiBHour, v), className: amount },
              { header: 'Created', cell: (v) => formatDateTime(v.createdAt), className: 'whitespace-nowrap' },
            ]}
          />
        ) : null}
      </Card>
      {list.data ? <PriceForm current={versions.find((v) => v.id === inForce) ?? versions[0]} /> : null}
    </div>
  );
}
