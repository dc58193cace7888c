'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { RequestStatus, resourceAmount, resourceName } from '../../quotas/quota-requests-panel';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { formatDateTime } from '../../ui/table';
import type { RouterOutputs } from '@/server/trpc/root';

type QuotaRequest = RouterOutputs['admin']['quotaRequests']['list'][number];

/** The queue of quota increase requests: pending first, each with Approve / Deny and a comment. */
export function QuotaRequestsAdmin() {
  const trpc = useTRPC();
  const list = useQuery({ ...trpc.admin.quotaRequests.list.queryOptions(), refetchInterval: 10_000 });
  const rows = list.data ?? [];
  const pending = rows.filter((r) => r.status === 'pending');
  const decided = rows.filter((r) => r.status !== 'pending');
  return (
    <div className="space-y-6">
      {list.isPending ? <p role="status">Loading requests…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data ? (
        <>
          <Card title="Pending" description="Approving sets the tenant's limit to what it asked for, at once.">
            {pending.length === 0 ? <p className="text-sm text-slate-600">No requests are waiting.</p> : null}
            <ul className="space-y-4">
              {pending.map((r) => (
                <PendingRequest key={r.id} request={r} />
              ))}
            </ul>
          </Card>
          <Card title="Decided" description="The latest decisions, newest first.">
            {decided.length === 0 ? <p className="text-sm text-slate-600">Nothing decided yet.</p> : null}
            <ul className="divide-y divide-slate-100">
              {decided.map((r) => (
                <li key={r.id} aria-label={`${r.tenantName}: ${resourceName(r.resource)} ${r.status}`} className="py-3 text-sm">
                  <RequestSummary request={r} />
                  <p className="mt-1 text-slate-700">
                    <RequestStatus status={r.status} /> {formatDateTime(r.decidedAt)}
                    {r.comment ? <> — “{r.comment}”</> : null}
                  </p>
                </li>
              ))}
            </ul>
          </Card>
        </>
      ) : null}
    </div>
  );
}

function RequestSummary({ request: r }: { request: QuotaRequest }) {
  return (
    <>
      <p className="text-slate-900">
        <Link href={`/t/${r.tenantSlug}/quotas`} className="font-medium text-sky-800 hover:underline">
          {r.tenantName}
        </Link>{' '}
        asks for <strong>{resourceAmount(r.resource, r.requestedLimit)}</strong> {resourceName(r.resource)} (limit was{' '}
        {resourceAmount(r.resource, r.limitAtRequest)})
      </p>
      <p className="text-xs text-slate-500">
        {r.requestedByEmail ?? 'A former member'} · {formatDateTime(r.createdAt)}
      </p>
      <p className="mt-1 text-slate-700">“{r.reason}”</p>
    </>
  );
}

function PendingRequest({ request: r }: { request: QuotaRequest }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [comment, setComment] = useState('');
  const decide = useMutation(
    trpc.admin.quotaRequests.decide.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.admin.quotaRequests.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.list.queryKey() }),
        ]);
      },
    }),
  );
  const errors = decide.error ? describeError(decide.error) : null;
  const label = `${r.tenantName}: ${resourceName(r.resource)} to ${resourceAmount(r.resource, r.requestedLimit)}`;
  return (
    <li aria-label={label} className="rounded-md border border-slate-200 p-3 text-sm">
      <RequestSummary request={r} />
      <div className="mt-3 flex flex-wrap items-end gap-2">
        <div className="min-w-0 grow sm:max-w-md">
          <TextField
            label="Comment (optional)"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            error={errors?.fieldErrors.comment}
          />
        </div>
        <Button
          busy={decide.isPending && decide.variables?.approve === true}
          disabled={decide.isPending}
          onClick={() => decide.mutate({ id: r.id, approve: true, comment: comment.trim() || undefined })}
        >
          Approve
        </Button>
        <Button
          variant="secondary"
          busy={decide.isPending && decide.variables?.approve === false}
          disabled={decide.isPending}
          onClick={() => decide.mutate({ id: r.id, approve: false, comment: comment.trim() || undefined })}
        >
          Deny
        </Button>
      </div>
      {errors ? (
        <div className="mt-2">
          <FormAlert message={errors.message} />
        </div>
      ) : null}
    </li>
  );
}
