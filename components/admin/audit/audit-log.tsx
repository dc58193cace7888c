'use client';

import { useState } from 'react';
import { describeError } from '../../trpc/client';
import { FormAlert } from '../../ui/field';
import { Pager, useKeysetPages } from '../../ui/pager';
import { auditCsvHref, useAuditPage, type AuditFilterValues } from './audit-api';
import { AuditFilters } from './audit-filters';
import { AuditTable } from './audit-table';

const PAGE_SIZE = 50;

/** The audit log viewer: filters, a page of records, Previous/Next, and the CSV of the same filters. */
export function AuditLog() {
  const [filters, setFilters] = useState<AuditFilterValues>({});
  const pages = useKeysetPages();
  const page = useAuditPage({ ...filters, cursor: pages.cursor ?? undefined, limit: PAGE_SIZE });
  const error = page.error ? describeError(page.error) : null;
  const pageNumber = pages.number;

  return (
    <div className="space-y-4">
      <AuditFilters
        fieldErrors={error?.fieldErrors ?? {}}
        onApply={(f) => {
          setFilters(f);
          pages.reset();
        }}
      />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-600" role="status" aria-live="polite">
          {page.isPending ? 'Loading the audit log…' : page.data ? `Page ${pageNumber}: ${page.data.items.length} record${page.data.items.length === 1 ? '' : 's'}` : ''}
        </p>
        <a href={auditCsvHref(filters)} download className="text-sm font-medium text-sky-700 underline">
          Download CSV
        </a>
      </div>
      {error ? <FormAlert message={error.message} /> : null}
      {page.data ? (
        page.data.items.length === 0 ? (
          <p className="text-sm text-slate-600">No audit records match these filters.</p>
        ) : (
          <AuditTable rows={page.data.items} />
        )
      ) : null}
      <Pager
        label="Audit log pages"
        pages={pages}
        nextCursor={page.isPlaceholderData ? undefined : page.data?.nextCursor}
        firstReason="This is the newest page."
        lastReason="There are no older records."
      />
    </div>
  );
}
