'use client';

import { useQuery } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { describeError, useTRPC } from '../../trpc/client';
import { FormAlert } from '../../ui/field';
import { Card, EmptyState } from '../../ui/page';
import { DataTable, formatDateTime } from '../../ui/table';
import { UsageList } from './usage-list';
import type { RouterOutputs } from '@/server/trpc/root';
import { Badge } from '../../ui/badge';

type TenantDetailData = RouterOutputs['admin']['tenants']['get'];
type Member = TenantDetailData['members'][number];

function isNotFound(err: unknown) {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === 'NOT_FOUND';
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs font-medium text-slate-500">{term}</dt>
      <dd className="mt-0.5 text-sm text-slate-900">{children}</dd>
    </div>
  );
}

const memberColumns = [
  { header: 'E-mail', cell: (m: Member) => m.email },
  { header: 'Name', cell: (m: Member) => m.name },
  { header: 'Role', cell: (m: Member) => m.role },
  { header: 'Member since', cell: (m: Member) => formatDateTime(m.since), className: 'whitespace-nowrap' },
  {
    header: 'Account',
    cell: (m: Member) => (
      <div className="flex flex-wrap gap-1">
        {m.isAdmin ? <Badge tone="amber">admin</Badge> : null}
        {m.disabledAt ? (
          <span title={`Disabled since ${formatDateTime(m.disabledAt)}`}>
            <Badge tone="red">disabled</Badge>
          </span>
        ) : (
          <Badge tone="slate">enabled</Badge>
        )}
      </div>
    ),
  },
];

/** One tenant as an admin sees it: its state, usage against its limits and its members. Changes stay on the Tenants page. */
export function TenantDetail({ tenantId }: { tenantId: string }) {
  const trpc = useTRPC();
  const tenant = useQuery(trpc.admin.tenants.get.queryOptions({ tenantId }));

  if (tenant.isPending) return <p role="status">Loading tenant…</p>;
  if (tenant.error) {
    return isNotFound(tenant.error) ? (
      <EmptyState title="Tenant not found" action={<BackToTenants />}>
        No tenant has the id <span className="font-mono">{tenantId}</span>. It may have been deleted, or the link is wrong.
      </EmptyState>
    ) : (
      <FormAlert message={describeError(tenant.error).message} />
    );
  }
  const t = tenant.data;
  const instances = t.usage.instances;
  return (
    <div className="space-y-6">
      <Card title={t.name}>
        <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Fact term="Slug">
            <span className="font-mono">{t.slug}</span>
          </Fact>
          <Fact term="Created">{formatDateTime(t.createdAt)}</Fact>
          <Fact term="State">
            {t.suspendedAt ? (
              <span className="space-y-1">
                <Badge tone="red">suspended</Badge>
                <span className="block text-slate-700">
                  Since {formatDateTime(t.suspendedAt)}: {t.suspendReason}
                </span>
              </span>
            ) : (
              <Badge tone="emerald">active</Badge>
            )}
          </Fact>
          <Fact term="Instances">
            <Link href={`/admin/instances?tenant=${t.id}`} className="text-sky-800 hover:underline">
              {instances} not terminated
            </Link>
          </Fact>
        </dl>
        <p className="mt-4 text-sm text-slate-600">
          Suspend, reactivate or change the quotas of {t.name} from{' '}
          <Link href={`/admin/tenants?search=${encodeURIComponent(t.slug)}`} className="text-sky-800 hover:underline">
            Tenants
          </Link>
          .
        </p>
      </Card>
      <Card
        title="Usage against limits"
        description="A limit can be lowered below what is in use, so a tenant can be over quota: it cannot launch more until it is under."
      >
        <UsageList usage={t.usage} limits={t.limits} label={`Usage of ${t.name}`} />
      </Card>
      <Card title="Members">
        {t.members.length > 0 ? (
          <DataTable<Member> caption={`Members of ${t.name}`} columns={memberColumns} rows={t.members} rowKey={(m) => m.userId} />
        ) : (
          <p className="text-sm text-slate-600">{t.name} has no members.</p>
        )}
      </Card>
    </div>
  );
}

function BackToTenants() {
  return (
    <Link href="/admin/tenants" className="font-medium text-sky-800 hover:underline">
      Back to all tenants
    </Link>
  );
}
