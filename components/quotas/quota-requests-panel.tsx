'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, SelectField, TextField } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';
import type { RouterInputs, RouterOutputs } from '@/server/trpc/root';
import { quotaResources, resourceLabels } from '@/server/quotas/resources';

type Resource = RouterInputs['quotaRequests']['create']['resource'];
type QuotaRequestRow = RouterOutputs['quotaRequests']['list'][number];

export const QUOTA_RESOURCES: { value: Resource; label: string; unit: string }[] = quotaResources.map((r) => ({
  value: r,
  label: resourceLabels[r].name,
  unit: resourceLabels[r].unit,
}));

export function resourceName(resource: string): string {
  return QUOTA_RESOURCES.find((r) => r.value === resource)?.label ?? resource;
}

export function resourceAmount(resource: string, n: number): string {
  const unit = QUOTA_RESOURCES.find((r) => r.value === resource)?.unit;
  return unit ? `${n} ${unit}` : String(n);
}

export function RequestStatus({ status }: { status: 'pending' | 'approved' | 'denied' }) {
  const tone =
    status === 'approved' ? 'bg-emerald-100 text-emerald-900' : status === 'denied' ? 'bg-red-100 text-red-900' : 'bg-amber-100 text-amber-900';
  return <span className={`rounded px-1.5 py-0.5 text-xs ${tone}`}>{status}</span>;
}

const OWNER_REASON = 'Only owners of this tenant can ask for a higher limit.';

/** The tenant's requests for higher limits, and (for owners) the form to ask for one. */
export function QuotaRequestsPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({ ...trpc.quotaRequests.list.queryOptions({ tenantId: tenant.id }), refetchInterval: 10_000 });
  const [resource, setResource] = useState<Resource>('vcpus');
  const [limit, setLimit] = useState('');
  const [reason, setReason] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const create = useMutation(
    trpc.quotaRequests.create.mutationOptions({
      onSuccess: async () => {
        setDone(`Your request for ${resourceAmount(resource, Number(limit))} ${resourceName(resource)} was sent to the administrators.`);
        setLimit('');
        setReason('');
        await queryClient.invalidateQueries({ queryKey: trpc.quotaRequests.list.queryKey({ tenantId: tenant.id }) });
      },
    }),
  );
  const notAllowed = tenant.role === 'owner' ? undefined : OWNER_REASON;
  const errors = create.error ? describeError(create.error) : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    setLocalError(null);
    const n = Number(limit);
    if (!limit.trim() || !Number.isInteger(n) || n < 0) {
      setLocalError('Enter the new limit as a whole number.');
      return;
    }
    create.mutate({ tenantId: tenant.id, resource, limit: n, reason });
  }

  const rows = list.data ?? [];
  return (
    <div className="mt-6 space-y-6">
      <Card title="Ask for a higher limit" description="An administrator reads the reason and approves or denies the request.">
        <form noValidate onSubmit={submit} className="grid max-w-xl gap-4">
          <fieldset disabled={Boolean(notAllowed)} className="grid gap-4 sm:grid-cols-2">
            <SelectField
              label="Resource"
              value={resource}
              onChange={(e) => setResource(e.target.value as Resource)}
              options={QUOTA_RESOURCES.map((r) => ({ value: r.value, label: r.label }))}
              error={errors?.fieldErrors.resource}
            />
            <TextField
              label="New limit"
              type="number"
              inputMode="numeric"
              min={0}
              value={limit}
              onChange={(e) => setLimit(e.target.value)}
              error={localError ?? errors?.fieldErrors.limit}
              hint={QUOTA_RESOURCES.find((r) => r.value === resource)?.unit || undefined}
            />
            <div className="sm:col-span-2">
              <TextField
                label="Reason"
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                error={errors?.fieldErrors.reason}
                hint="At least 10 characters: what you need it for."
              />
            </div>
          </fieldset>
          {errors && Object.keys(errors.fieldErrors).length === 0 ? <FormAlert message={errors.message} /> : null}
          <FormAlert tone="success" message={done} />
          <div>
            <Button type="submit" busy={create.isPending} disabledReason={notAllowed}>
              Request limit
            </Button>
          </div>
        </form>
      </Card>
      <Card title="Requests" description="What this tenant asked for and what the administrators decided.">
        {list.isPending ? <p role="status">Loading requests…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && rows.length === 0 ? <p className="text-sm text-slate-600">No requests yet.</p> : null}
        {rows.length > 0 ? (
          <DataTable<QuotaRequestRow>
            caption="Quota requests"
            rowKey={(r) => r.id}
            rows={rows}
            columns={[
              { header: 'Resource', cell: (r) => resourceName(r.resource) },
              { header: 'Asked for', cell: (r) => resourceAmount(r.resource, r.requestedLimit), className: 'tabular-nums whitespace-nowrap' },
              { header: 'Reason', cell: (r) => r.reason },
              { header: 'Status', cell: (r) => <RequestStatus status={r.status} /> },
              { header: 'Comment', cell: (r) => r.comment ?? '—' },
              { header: 'Asked', cell: (r) => formatDateTime(r.createdAt), className: 'whitespace-nowrap' },
            ]}
          />
        ) : null}
      </Card>
    </div>
  );
}
