'use client';

import { useQuery } from '@tanstack/react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { adminAuditRouter } from '@/server/trpc/routers/admin-audit';
import { useTRPC } from '../../trpc/client';

export type AuditListInput = inferRouterInputs<typeof adminAuditRouter>['list'];
export type AuditPage = inferRouterOutputs<typeof adminAuditRouter>['list'];
export type AuditRow = AuditPage['items'][number];
/** The filters the form edits: everything but the page position. */
export type AuditFilterValues = Omit<AuditListInput, 'cursor' | 'limit'>;

/** One page of `admin.audit.list`. */
export function useAuditPage(input: AuditListInput) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.admin.audit.list.queryOptions(input), placeholderData: (previous) => previous });
}

/** The CSV export of the same filters, as a link the browser downloads. */
export function auditCsvHref(filters: AuditFilterValues): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value === undefined || value === '') continue;
    q.set(key, value instanceof Date ? value.toISOString() : String(value));
  }
  const s = q.toString();
  return `/api/admin/audit-csv${s ? `?${s}` : ''}`;
}
