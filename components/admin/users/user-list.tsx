'use client';

import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { Pager, useKeysetPages } from '../../ui/pager';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { DataTable, formatDateTime } from '../../ui/table';
import { UserActions } from './user-actions';
import { Badge } from '../../ui/badge';

type AdminUser = RouterOutputs['admin']['users']['list']['items'][number];
const PAGE_SIZE = 25;

/** Users, searched by e-mail or name, a page at a time (keyset cursors kept so Previous works). */
export function UserList({ currentUserId }: { currentUserId: string }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState('');
  const [search, setSearch] = useState('');
  const pages = useKeysetPages();
  const list = useQuery(
    trpc.admin.users.list.queryOptions({ search: search || undefined, cursor: pages.cursor, limit: PAGE_SIZE }, { placeholderData: (prev) => prev }),
  );
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);

  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSearch(draft.trim());
    pages.reset();
    setMessage(null);
  }

  const users = list.data?.items ?? [];
  return (
    <Card title="Users" description="Search by e-mail or name.">
      <form role="search" aria-label="Search users" onSubmit={onSearch} noValidate className="mb-4 flex flex-wrap items-end gap-2">
        <div className="min-w-0 flex-1 sm:max-w-sm">
          <TextField label="Search" name="search" type="search" value={draft} autoComplete="off" onChange={(e) => setDraft(e.target.value)} />
        </div>
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      <div className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        {list.isPending ? <p role="status">Loading users…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && users.length === 0 ? <p className="text-sm text-slate-600">{search ? `No user matches “${search}”.` : 'No users yet.'}</p> : null}
        {users.length > 0 ? (
          <DataTable<AdminUser>
            caption="Users"
            rowKey={(u) => u.id}
            rows={users}
            columns={[
              { header: 'E-mail', cell: (u) => <span className="break-all">{u.email}</span> },
              { header: 'Name', cell: (u) => u.name },
              {
                header: 'Status',
                cell: (u) => (
                  <span className="flex flex-wrap gap-1">
                    {u.isAdmin ? <Badge tone="sky">admin</Badge> : null}
                    {u.disabledAt ? (
                      <Badge tone="red" title={`Disabled ${formatDateTime(u.disabledAt)}`}>
                        disabled
                      </Badge>
                    ) : (
                      <Badge tone="emerald">active</Badge>
                    )}
                  </span>
                ),
              },
              { header: 'Tenants', cell: (u) => u.tenants, className: 'text-right tabular-nums' },
              { header: 'Created', cell: (u) => formatDateTime(u.createdAt), className: 'whitespace-nowrap' },
              { header: 'Actions', cell: (u) => <UserActions user={u} isSelf={u.id === currentUserId} onResult={setMessage} /> },
            ]}
          />
        ) : null}
        <Pager label="Pages of users" pages={pages} nextCursor={list.isPlaceholderData ? undefined : list.data?.nextCursor} />
      </div>
    </Card>
  );
}
