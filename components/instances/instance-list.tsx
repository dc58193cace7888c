'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useCallback, useState } from 'react';
import { transitional } from '@/server/instances/can';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert } from '../ui/field';
import { LinkButton } from '../ui/link-button';
import { EmptyState, PageHeader } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';
import { BulkActions } from './bulk-actions';
import { formatSize, roleReason, type Instance } from './format';
import { ScreenThumbnail } from './screen-thumbnail';
import { InstanceFilters } from './instance-filters';
import { defaultFilters, filterInput, filtersFromSearch, sameFilters, searchFromFilters, type Filters } from './list-filters';
import { StateBadge } from './state-badge';

const PAGE_SIZE = 20;

/** The tenant's instances: filtered, paged by cursor, refreshed live, with bulk stop/terminate. */
export function InstanceList() {
  const tenant = useTenant();
  const trpc = useTRPC();
  // Filters live in the query string too, so a reload or a shared link keeps them.
  const search = useSearchParams();
  const [initialFilters] = useState(() => filtersFromSearch(new URLSearchParams(search.toString())));
  // The cursor of every page up to this one (null for the first), so Previous can go back.
  const [view, setView] = useState<{ filters: Filters; cursors: (string | null)[] }>({ filters: initialFilters, cursors: [null] });
  const [selectedIds, setSelectedIds] = useState<ReadonlySet<string>>(new Set());
  const cursor = view.cursors[view.cursors.length - 1] ?? null;
  const list = useQuery({
    ...trpc.instances.list.queryOptions({ tenantId: tenant.id, cursor, limit: PAGE_SIZE, ...filterInput(view.filters) }),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.items.some((i) => transitional.includes(i.state)) ? 1_000 : 1_500),
  });
  const onFilters = useCallback((filters: Filters) => {
    setView((v) => (sameFilters(v.filters, filters) ? v : { filters, cursors: [null] }));
    setSelectedIds(new Set());
    const query = searchFromFilters(filters);
    // The History API keeps Next's router in step without a server round trip.
    if (query !== window.location.search) window.history.replaceState(null, '', `${window.location.pathname}${query}`);
  }, []);

  const items = list.data?.items ?? [];
  const selected = items.filter((i) => selectedIds.has(i.id));
  const toggle = (id: string, on: boolean) =>
    setSelectedIds((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allOnPage = items.length > 0 && selected.length === items.length;

  const launch = roleReason(tenant.role) ? (
    <Button disabledReason={roleReason(tenant.role)}>Launch instance</Button>
  ) : (
    <LinkButton href={`/t/${tenant.slug}/instances/new`}>Launch instance</LinkButton>
  );

  const columns = [
    {
      header: 'Select',
      cell: (i: Instance) => (
        <input
          type="checkbox"
          aria-label={`Select ${i.name}`}
          checked={selectedIds.has(i.id)}
          onChange={(e) => toggle(i.id, e.target.checked)}
          className="size-4"
        />
      ),
      className: 'w-10',
    },
    {
      header: 'Name',
      cell: (i: Instance) => (
        <Link href={`/t/${tenant.slug}/instances/${i.id}`} className="font-medium text-sky-800 hover:underline">
          {i.name}
        </Link>
      ),
    },
    {
      header: 'Screen',
      cell: (i: Instance) => (
        <ScreenThumbnail tenantId={tenant.id} slug={tenant.slug} instanceId={i.id} name={i.name} running={i.state === 'running'} />
      ),
    },
    { header: 'ID', cell: (i: Instance) => <code className="font-mono text-xs">{i.id}</code> },
    {
      header: 'State',
      cell: (i: Instance) => (
        <span title={i.stateReason ?? undefined} className="inline-flex flex-col items-start gap-0.5">
          <StateBadge state={i.state} />
          {i.state === 'error' && i.stateReason ? <span className="max-w-56 text-xs text-red-700">{i.stateReason}</span> : null}
        </span>
      ),
    },
    { header: 'Size', cell: (i: Instance) => formatSize(i), className: 'whitespace-nowrap' },
    { header: 'Host', cell: (i: Instance) => i.hostName ?? '—' },
    { header: 'Created', cell: (i: Instance) => formatDateTime(i.createdAt), className: 'whitespace-nowrap' },
  ];

  const filtered = !sameFilters(view.filters, defaultFilters);
  const firstPage = view.cursors.length === 1;
  return (
    <>
      <PageHeader title="Instances" description="Virtual machines in this tenant, billed by the second while they exist." actions={launch} />
      <div className="space-y-4">
        <InstanceFilters initial={initialFilters} onChange={onFilters} />
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.isPending ? <p role="status">Loading instances…</p> : null}
        {list.data && items.length === 0 && !filtered && firstPage ? (
          <EmptyState title="No instances yet" action={launch}>
            <p>Instances you launch appear here with their state, size and console.</p>
          </EmptyState>
        ) : null}
        {list.data && items.length === 0 && (filtered || !firstPage) ? (
          <p className="rounded-lg border border-dashed border-slate-300 bg-white px-4 py-6 text-center text-sm text-slate-600">
            No instances match these filters.
          </p>
        ) : null}
        {items.length > 0 ? (
          <>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <label className="inline-flex items-center gap-2 text-sm text-slate-700">
                <input
                  type="checkbox"
                  className="size-4"
                  checked={allOnPage}
                  ref={(el) => {
                    if (el) el.indeterminate = selected.length > 0 && !allOnPage;
                  }}
                  onChange={(e) => setSelectedIds(e.target.checked ? new Set(items.map((i) => i.id)) : new Set())}
                />
                Select all on this page
              </label>
              <BulkActions selected={selected} onDone={() => setSelectedIds(new Set())} />
            </div>
            {/* While a new filter or page loads, the old rows stay, dimmed. */}
            <div aria-busy={list.isPlaceholderData || undefined} className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              <DataTable caption="Instances" columns={columns} rows={items} rowKey={(i) => i.id} />
            </div>
          </>
        ) : null}
        {list.data && (!firstPage || list.data.nextCursor) ? (
          <nav aria-label="Pages" className="flex items-center justify-end gap-2">
            <span className="text-sm text-slate-600">Page {view.cursors.length}</span>
            <Button
              variant="secondary"
              disabledReason={firstPage ? 'This is the first page.' : undefined}
              disabled={list.isPlaceholderData}
              onClick={() => {
                setSelectedIds(new Set());
                setView((v) => ({ ...v, cursors: v.cursors.slice(0, -1) }));
              }}
            >
              Previous
            </Button>
            <Button
              variant="secondary"
              disabledReason={list.data.nextCursor ? undefined : 'This is the last page.'}
              disabled={list.isPlaceholderData}
              onClick={() => {
                const next = list.data?.nextCursor;
                if (!next) return;
                setSelectedIds(new Set());
                setView((v) => ({ ...v, cursors: [...v.cursors, next] }));
              }}
            >
              Next
            </Button>
          </nav>
        ) : null}
      </div>
    </>
  );
}
