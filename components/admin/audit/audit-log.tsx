'use client';

import { useState } from 'react';
import { describeError } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert } from '../../ui/field';
import { auditCsvHref, useAuditPage, type AuditFilterValues } from './audit-api';
import { AuditFilters } from './audit-filters';
import { AuditTable } from './audit-table';

const PAGE_SIZE = 50;

/** The audit log viewer: filters, a page of records, Previous/Next, and the CSV of the same filters. */
export function AuditLog() {
  const [filters, setFilters] = useState<AuditFilterValues>({});
  // The cursors of the pages seen so far: the last one is the page shown (undefined: the newest).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useAuditPage({ ...filters, cursor, limit: PAGE_SIZE });
  const error = page.error ? describeError(page.error) : null;
  const pageNumber = cursors.length;

  return (
    <div className="space-y-4">
      <AuditFilters
        fieldErrors={error?.fieldErrors ?? {}}
        onApply={(f) => {
          setFilters(f);
          setCursors([undefined]);
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
      <nav aria-label="Audit log pages" className="flex gap-2">
        <Button variant="secondary" disabledReason={pageNumber === 1 ? 'This is the newest page.' : undefined} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous
        </Button>
        <Button
          variant="secondary"
          disabledReason={page.data && !page.data.nextCursor ? 'There are no older records.' : undefined}
          disabled={!page.data || page.isPlaceholderData}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next) setCursors((c) => [...c, next]);
          }}
        >
          Next
        </Button>
      </nav>
    </div>
  );
}
