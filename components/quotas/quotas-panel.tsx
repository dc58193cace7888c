'use client';

import { useQuery } from '@tanstack/react-query';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { QuotaBars } from './quota-bars';
import { QuotaRequestsPanel } from './quota-requests-panel';

/** The tenant's limits and what its live instances hold, kept fresh while the page is open. */
export function QuotasPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const quotas = useQuery({ ...trpc.quotas.get.queryOptions({ tenantId: tenant.id }), refetchInterval: 5_000 });
  return (
    <>
      <Card
        title="Usage"
        description="Instances that are not terminating or terminated count against these limits. Ask an administrator to raise a limit."
      >
        {quotas.isPending ? <p role="status">Loading quotas…</p> : null}
        {quotas.error ? <FormAlert message={describeError(quotas.error).message} /> : null}
        {quotas.data ? <QuotaBars quotas={quotas.data} /> : null}
      </Card>
      <QuotaRequestsPanel />
    </>
  );
}
