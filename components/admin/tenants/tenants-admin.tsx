'use client';

import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { formatMoney } from '../../billing/money';
import { QUOTA_RESOURCES } from '../../quotas/quota-requests-panel';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { Pager, useKeysetPages } from '../../ui/pager';
import { DataTable, formatDateTime } from '../../ui/table';
import { CreateTenantForm } from './create-tenant-form';
import { UsageList } from './usage-list';
import type { RouterOutputs } from '@/server/trpc/root';
import { Badge } from '../../ui/badge';
import { LIMITS, parseLimit } from '../quotas/limits';

type Tenant = RouterOutputs['admin']['tenants']['list']['items'][number];

const PAGE_SIZE = 25;
type Resource = keyof Tenant['limits'];

/** Tenants, searched by name or slug, a page at a time, with usage against limits; create one for a user, suspend, reactivate and edit quotas. */
export function TenantsAdmin({ initialSearch = '' }: { initialSearch?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState(initialSearch);
  const [search, setSearch] = useState(initialSearch);
  const pages = useKeysetPages();
  const list = useQuery({
    ...trpc.admin.tenants.list.queryOptions({ search: search || undefined, cursor: pages.cursor, limit: PAGE_SIZE }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.list.queryKey() });
  const reactivate = useMutation(
    trpc.admin.tenants.reactivate.mutationOptions({
      onSuccess: async (_d, v) => {
        const name = list.data?.items.find((t) => t.id === v.tenantId)?.name ?? 'The tenant';
        await refresh();
        setNotice(`${name} was reactivated.`);
      },
    }),
  );
  const tenants = list.data?.items ?? [];
  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSearch(draft.trim());
    setNotice(null);
    pages.reset();
  }
  const selected = tenants.find((t) => t.id === selectedId) ?? null;
  return (
    <div className="space-y-6">
      <FormAlert tone="success" message={notice} />
      {reactivate.error ? <FormAlert message={describeError(reactivate.error).message} /> : null}
      {list.isPending ? <p role="status">Loading tenants…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      <CreateTenantForm
        onCreated={async (tenant) => {
          setNotice(null);
          // Show the new tenant (it may sort onto another page or miss the current search),
          // fetched before the switch so the table never shows the old rows beside the notice.
          await refresh();
          await queryClient.fetchQuery(trpc.admin.tenants.list.queryOptions({ search: tenant.slug, cursor: null, limit: PAGE_SIZE }));
          setDraft(tenant.slug);
          setSearch(tenant.slug);
          pages.reset();
        }}
      />
      <form role="search" aria-label="Search tenants" onSubmit={onSearch} noValidate className="flex flex-wrap items-end gap-2">
        <div className="min-w-0 flex-1 sm:max-w-sm">
          <TextField label="Search tenants" name="search" type="search" value={draft} autoComplete="off" hint="Name or slug." onChange={(e) => setDraft(e.target.value)} />
        </div>
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      {list.data && tenants.length === 0 ? <p className="text-sm text-slate-600">{search ? `No tenant matches “${search}”.` : 'No tenants yet.'}</p> : null}
      {tenants.length > 0 ? (
        <DataTable<Tenant>
          caption="Tenants"
          rowKey={(t) => t.id}
          rows={tenants}
          columns={[
            {
              header: 'Tenant',
              cell: (t) => (
                <div>
                  <Link href={`/admin/tenants/${t.id}`} className="font-medium text-sky-800 hover:underline">
                    {t.name}
                  </Link>
                  <div className="text-xs text-slate-500">Since {formatDateTime(t.createdAt)}</div>
                </div>
              ),
            },
            { header: 'Members', cell: (t) => t.members, className: 'text-right tabular-nums' },
            { header: 'Usage', cell: (t) => <UsageList usage={t.usage} limits={t.limits} /> },
            { header: 'Month to date', cell: (t) => formatMoney(t.monthToDateMicro, 'USD'), className: 'text-right tabular-nums whitespace-nowrap' },
            {
              header: 'State',
              cell: (t) =>
                t.suspendedAt ? (
                  <div>
                    <Badge tone="red">suspended</Badge>
                    <div className="mt-1 max-w-48 text-xs text-slate-600">{t.suspendReason}</div>
                  </div>
                ) : (
                  <Badge tone="emerald">active</Badge>
                ),
            },
            {
              header: 'Actions',
              cell: (t) => (
                <div className="flex flex-wrap gap-2">
                  <Button
                    variant="secondary"
                    aria-label={`Manage ${t.name}`}
                    aria-expanded={selectedId === t.id}
                    onClick={() => {
                      setNotice(null);
                      setSelectedId(selectedId === t.id ? null : t.id);
                    }}
                  >
                    Manage
                  </Button>
                  {t.suspendedAt ? (
                    <Button
                      variant="secondary"
                      busy={reactivate.isPending && reactivate.variables?.tenantId === t.id}
                      onClick={() => {
                        setNotice(null);
                        reactivate.mutate({ tenantId: t.id });
                      }}
                    >
                      Reactivate
                    </Button>
                  ) : null}
                </div>
              ),
            },
          ]}
        />
      ) : null}
      <Pager label="Pages of tenants" pages={pages} nextCursor={list.isPlaceholderData ? undefined : list.data?.nextCursor} />
      {selected ? (
        <TenantManager
          key={selected.id}
          tenant={selected}
          onDone={async (message) => {
            // The table shows the change before the notice says it was made.
            await refresh();
            setNotice(message);
          }}
          onClose={() => setSelectedId(null)}
        />
      ) : null}
    </div>
  );
}

function TenantManager({ tenant, onDone, onClose }: { tenant: Tenant; onDone: (message: string) => Promise<void>; onClose: () => void }) {
  const trpc = useTRPC();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'nearest' });
  }, []);
  const [limits, setLimits] = useState<Record<Resource, string>>(() => {
    const out = {} as Record<Resource, string>;
    for (const r of QUOTA_RESOURCES) out[r.value as Resource] = String(tenant.limits[r.value as Resource]);
    return out;
  });
  const [localErrors, setLocalErrors] = useState<Partial<Record<Resource, string>>>({});
  const [reason, setReason] = useState('');
  const setQuotas = useMutation(trpc.admin.quotas.set.mutationOptions({ onSuccess: () => onDone(`The quotas of ${tenant.name} were saved.`) }));
  const suspend = useMutation(
    trpc.admin.tenants.suspend.mutationOptions({
      onSuccess: (d) =>
        onDone(`${tenant.name} was suspended; ${d.stopped} running instance${d.stopped === 1 ? ' was' : 's were'} stopped.`).then(() => setReason('')),
    }),
  );
  const quotaErrors = setQuotas.error ? describeError(setQuotas.error) : null;
  const suspendErrors = suspend.error ? describeError(suspend.error) : null;

  function saveQuotas(e: FormEvent) {
    e.preventDefault();
    const changed: Partial<Record<Resource, number>> = {};
    const errs: Partial<Record<Resource, string>> = {};
    for (const l of LIMITS) {
      const parsed = parseLimit(limits[l.key], l.what, l.max);
      if ('error' in parsed) errs[l.key] = parsed.error;
      else if (parsed.value !== tenant.limits[l.key]) changed[l.key] = parsed.value;
    }
    setLocalErrors(errs);
    if (Object.keys(errs).length > 0) return;
    if (Object.keys(changed).length === 0) {
      void onDone(`Nothing changed in the quotas of ${tenant.name}.`);
      return;
    }
    setQuotas.mutate({ tenantId: tenant.id, limits: changed });
  }

  const suspendDisabled = tenant.suspendedAt
    ? 'This tenant is already suspended.'
    : reason.trim().length < 3
      ? 'Write the reason first (at least 3 characters); the tenant reads it.'
      : undefined;

  return (
    <div ref={ref}>
      <Card title={`Manage ${tenant.name}`} description="Lowering a limit below what is in use is allowed: it only blocks new launches.">
        <div className="grid gap-8 lg:grid-cols-2">
          <form noValidate onSubmit={saveQuotas} aria-label={`Quotas of ${tenant.name}`} className="space-y-4">
            <h3 className="text-sm font-semibold text-slate-900">Edit quotas</h3>
            <div className="grid gap-4 sm:grid-cols-2">
              {QUOTA_RESOURCES.map((r) => {
                const key = r.value as Resource;
                return (
                  <TextField
                    key={key}
                    label={r.unit ? `${r.label} (${r.unit})` : r.label}
                    type="number"
                    inputMode="numeric"
                    min={0}
                    value={limits[key]}
                    onChange={(e) => setLimits({ ...limits, [key]: e.target.value })}
                    hint={`In use: ${tenant.usage[key]}`}
                    error={localErrors[key] ?? quotaErrors?.fieldErrors[key] ?? quotaErrors?.fieldErrors[`limits.${key}`]}
                  />
                );
              })}
            </div>
            {quotaErrors ? <FormAlert message={quotaErrors.message} /> : null}
            <Button type="submit" busy={setQuotas.isPending}>
              Save quotas
            </Button>
          </form>
          <div className="space-y-4">
            <h3 className="text-sm font-semibold text-slate-900">Suspension</h3>
            {tenant.suspendedAt ? (
              <p className="text-sm text-slate-700">
                Suspended since {formatDateTime(tenant.suspendedAt)}: {tenant.suspendReason}. Use Reactivate in the table to lift it.
              </p>
            ) : (
              <>
                <TextField
                  label="Reason for suspension"
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                  hint="The tenant's members see it. Suspending stops its running instances and closes consoles."
                  error={suspendErrors?.fieldErrors.reason}
                />
                {suspendErrors ? <FormAlert message={suspendErrors.message} /> : null}
                <ConfirmButton
                  variant="danger"
                  question={`Suspend ${tenant.name} and stop its running instances?`}
                  confirmLabel="Suspend"
                  busy={suspend.isPending}
                  disabledReason={suspendDisabled}
                  onConfirm={() => suspend.mutate({ tenantId: tenant.id, reason: reason.trim() })}
                >
                  Suspend tenant
                </ConfirmButton>
              </>
            )}
          </div>
        </div>
        <div className="mt-6">
          <Button variant="ghost" onClick={onClose}>
            Close
          </Button>
        </div>
      </Card>
    </div>
  );
}
