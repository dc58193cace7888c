'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { formatAddresses } from '../../networks/network-rules';
import { describeError, useTRPC } from '../../trpc/client';
import { Badge } from '../../ui/badge';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { Pager, useKeysetPages } from '../../ui/pager';
import { DataTable } from '../../ui/table';

type AdminNetwork = RouterOutputs['admin']['networks']['list']['items'][number];
const PAGE_SIZE = 25;

/** Every tenant's networks, searched by name, CIDR or tenant, a page at a time. */
export function NetworksAdmin() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState('');
  const [search, setSearch] = useState('');
  const pages = useKeysetPages();
  const list = useQuery(
    trpc.admin.networks.list.queryOptions({ search: search || undefined, cursor: pages.cursor, limit: PAGE_SIZE }, { placeholderData: (prev) => prev }),
  );

  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSearch(draft.trim());
    pages.reset();
  }

  const networks = list.data?.items ?? [];
  return (
    <Card title="Networks" description="Every tenant’s networks: how many addresses they use and on how many hosts they are set up.">
      <form role="search" aria-label="Search networks" onSubmit={onSearch} noValidate className="mb-4 flex flex-wrap items-end gap-2">
        <div className="min-w-0 flex-1 sm:max-w-sm">
          <TextField
            label="Search"
            name="search"
            type="search"
            value={draft}
            autoComplete="off"
            hint="Network name, CIDR or tenant."
            onChange={(e) => setDraft(e.target.value)}
          />
        </div>
        <Button type="submit" variant="secondary" className="mb-5">
          Search
        </Button>
      </form>
      <div className="space-y-4">
        {list.isPending ? <p role="status">Loading networks…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && networks.length === 0 ? (
          <p className="text-sm text-slate-600">{search ? `No network matches “${search}”.` : 'No tenant has a network yet.'}</p>
        ) : null}
        {networks.length > 0 ? (
          <DataTable<AdminNetwork>
            caption="Networks"
            rowKey={(n) => n.id}
            rows={networks}
            columns={[
              {
                header: 'Network',
                cell: (n) => (
                  <span className="flex flex-wrap items-center gap-2">
                    <span className="font-medium">{n.name}</span>
                    {n.isDefault ? <Badge tone="sky">default</Badge> : null}
                  </span>
                ),
              },
              {
                header: 'Tenant',
                cell: (n) => (
                  <Link href={`/admin/tenants/${n.tenantId}`} className="text-sky-800 hover:underline">
                    {n.tenantName}
                    <span className="block text-xs text-slate-500">{n.tenantSlug}</span>
                  </Link>
                ),
              },
              { header: 'CIDR', cell: (n) => <code className="font-mono text-xs">{n.cidr}</code> },
              { header: 'Gateway', cell: (n) => <code className="font-mono text-xs">{n.gateway}</code> },
              { header: 'Addresses used', cell: (n) => formatAddresses(n), className: 'whitespace-nowrap tabular-nums' },
              { header: 'Hosts', cell: (n) => n.hosts, className: 'text-right tabular-nums' },
              { header: 'VXLAN id', cell: (n) => n.vxlanId ?? '—', className: 'text-right tabular-nums' },
            ]}
          />
        ) : null}
        <Pager label="Pages of networks" pages={pages} nextCursor={list.isPlaceholderData ? undefined : list.data?.nextCursor} />
      </div>
    </Card>
  );
}
