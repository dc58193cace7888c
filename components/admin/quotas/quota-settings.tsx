'use client';

import { useQuery } from '@tanstack/react-query';
import { describeError, useTRPC } from '../../trpc/client';
import { FormAlert } from '../../ui/field';
import { DefaultQuotaForm } from './default-quota-form';
import { TenantQuotaForm } from './tenant-quota-form';

/** The default quotas (loaded first so the form starts from them) and a per-tenant override. */
export function QuotaSettings() {
  const trpc = useTRPC();
  const defaults = useQuery(trpc.admin.quotas.getDefaults.queryOptions());
  return (
    <div className="space-y-6">
      {defaults.isPending ? <p role="status">Loading default quotas…</p> : null}
      {defaults.error ? <FormAlert message={describeError(defaults.error).message} /> : null}
      {defaults.data ? <DefaultQuotaForm current={defaults.data} /> : null}
      <TenantQuotaForm />
    </div>
  );
}
