import Link from 'next/link';
import { DataTable, formatDateTime } from '../../ui/table';
import type { AuditRow } from './audit-api';

function Detail({ row }: { row: AuditRow }) {
  if (!row.detail) return <span className="text-slate-400">—</span>;
  return (
    <details>
      <summary className="cursor-pointer text-sky-700 underline">Show</summary>
      <pre className="mt-1 max-w-xs overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-50 p-2 text-xs">{JSON.stringify(row.detail, null, 2)}</pre>
    </details>
  );
}

/** One page of audit records. */
export function AuditTable({ rows }: { rows: AuditRow[] }) {
  return (
    <DataTable
      caption="Audit log, newest first"
      rows={rows}
      rowKey={(r) => r.id}
      columns={[
        { header: 'Time', cell: (r) => <time dateTime={r.at.toISOString()} title={r.at.toISOString()}>{formatDateTime(r.at)}</time>, className: 'whitespace-nowrap' },
        { header: 'Actor', cell: (r) => r.actorLabel },
        {
          header: 'Tenant',
          cell: (r) =>
            r.tenantSlug ? (
              <Link href={`/t/${r.tenantSlug}/instances`} className="text-sky-700 underline" title={r.tenantId ?? undefined}>
                {r.tenantName}
              </Link>
            ) : (
              <span className="text-slate-500">{r.tenantId ?? '—'}</span>
            ),
        },
        { header: 'Action', cell: (r) => <code className="text-xs">{r.action}</code> },
        { header: 'Target', cell: (r) => (r.targetType ? `${r.targetType} ${r.targetId ?? ''}` : '—'), className: 'break-all' },
        {
          header: 'Outcome',
          cell: (r) => <span className={r.outcome === 'failure' ? 'font-medium text-red-700' : 'text-emerald-700'}>{r.outcome === 'failure' ? 'Failure' : 'Success'}</span>,
        },
        { header: 'Request ID', cell: (r) => <code className="text-xs break-all">{r.requestId ?? '—'}</code> },
        { header: 'Detail', cell: (r) => <Detail row={r} /> },
      ]}
    />
  );
}
