import Link from 'next/link';
import { DataTable } from '../ui/table';
import { formatMoney, resourceInfo, type BillingSummary } from './money';

type InstanceCost = BillingSummary['byInstance'][number];
type ResourceCost = BillingSummary['byResource'][number];

const amountClass = 'text-right tabular-nums whitespace-nowrap';

export function CostByInstance({ summary: s, slug }: { summary: BillingSummary; slug: string }) {
  if (s.byInstance.length === 0) return <p className="text-sm text-slate-600">No instance has cost anything this month.</p>;
  return (
    <DataTable<InstanceCost>
      caption="Cost by instance"
      rowKey={(r) => r.instanceId ?? r.imageId ?? r.volumeId!}
      rows={s.byInstance}
      columns={[
        {
          header: 'Instance',
          cell: (r) =>
            r.instanceId ? (
              <Link href={`/t/${slug}/instances/${r.instanceId}`} className="font-medium text-sky-800 hover:underline">
                {r.name}
              </Link>
            ) : r.volumeId ? (
              <Link href={`/t/${slug}/volumes`} className="font-medium text-sky-800 hover:underline">
                Volume “{r.name}”
              </Link>
            ) : (
              <span className="font-medium text-slate-900">Image “{r.name}” (storage)</span>
            ),
        },
        { header: 'ID', cell: (r) => <code className="font-mono text-xs">{r.instanceId ?? r.imageId ?? r.volumeId}</code> },
        { header: 'Cost', cell: (r) => formatMoney(r.amountMicro, s.currency), className: amountClass },
      ]}
    />
  );
}

export function CostByResource({ summary: s }: { summary: BillingSummary }) {
  if (s.byResource.length === 0) return <p className="text-sm text-slate-600">Nothing used yet this month.</p>;
  return (
    <DataTable<ResourceCost>
      caption="Cost by resource"
      rowKey={(r) => r.resource}
      rows={s.byResource}
      columns={[
        { header: 'Resource', cell: (r) => resourceInfo(r.resource).name },
        { header: 'Billed', cell: (r) => resourceInfo(r.resource).rule },
        { header: 'Cost', cell: (r) => formatMoney(r.amountMicro, s.currency), className: amountClass },
      ]}
    />
  );
}
