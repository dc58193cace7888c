'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Badge } from '../ui/badge';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';
import { CreateAccessKeyForm } from './create-access-key-form';

type AccessKey = RouterOutputs['accessKeys']['list'][number];

/**
 * The caller's access keys for this tenant's EC2-compatible API: the form
 * that makes one, and the list (revoked keys stay, for the record) with
 * Revoke on each active key. Every member, viewers too, has keys of their own.
 */
export function AccessKeysPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.accessKeys.list.queryOptions({ tenantId: tenant.id }));
  const revoke = useMutation(trpc.accessKeys.revoke.mutationOptions());
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  async function onRevoke(k: AccessKey) {
    setMessage(null);
    try {
      await revoke.mutateAsync({ tenantId: tenant.id, id: k.id });
      setMessage({ text: `Access key ${k.name} (${k.accessKeyId}) revoked: requests signed with it are refused from now on.`, tone: 'success' });
    } catch (err) {
      setMessage({ text: describeError(err).message, tone: 'error' });
    } finally {
      await queryClient.invalidateQueries({ queryKey: trpc.accessKeys.list.queryKey({ tenantId: tenant.id }) });
      // The Revoke button is gone: keep the keyboard in the list rather than at the top of the page.
      listRef.current?.focus();
    }
  }

  const columns = [
    { header: 'Name', cell: (k: AccessKey) => <span className="font-medium break-all">{k.name}</span> },
    { header: 'Access key ID', cell: (k: AccessKey) => <code className="font-mono text-xs">{k.accessKeyId}</code> },
    { header: 'Created', cell: (k: AccessKey) => formatDateTime(k.createdAt), className: 'whitespace-nowrap' },
    { header: 'Last used', cell: (k: AccessKey) => (k.lastUsedAt ? formatDateTime(k.lastUsedAt) : 'Never'), className: 'whitespace-nowrap' },
    {
      header: 'Status',
      cell: (k: AccessKey) =>
        k.revokedAt ? (
          <Badge tone="slate">Revoked {formatDateTime(k.revokedAt)}</Badge>
        ) : (
          <Badge tone="emerald">Active</Badge>
        ),
    },
    {
      header: 'Actions',
      cell: (k: AccessKey) =>
        k.revokedAt ? null : (
          <ConfirmButton
            question={`Revoke access key ${k.name}? Anything signing requests with it stops working.`}
            confirmLabel="Revoke"
            aria-label={`Revoke ${k.name}`}
            busy={revoke.isPending && revoke.variables?.id === k.id}
            onConfirm={() => void onRevoke(k)}
          >
            Revoke
          </ConfirmButton>
        ),
    },
  ];

  return (
    <div className="space-y-6">
      <Card
        title="Create an access key"
        description={
          <>
            For the AWS CLI, SDKs and Terraform, through the EC2-compatible API at <code className="font-mono">/api/ec2</code>. Requests signed with a
            key act as you in {tenant.name}, with your role here.
          </>
        }
      >
        <CreateAccessKeyForm />
      </Card>
      <Card title="Your access keys" description={`Keys you made in ${tenant.name}; other members’ keys are theirs to see.`}>
        <div ref={listRef} tabIndex={-1} className="space-y-4 focus:outline-none">
          <FormAlert message={message?.text} tone={message?.tone} />
          {keys.isPending ? <p role="status">Loading access keys…</p> : null}
          {keys.error ? <FormAlert message={describeError(keys.error).message} /> : null}
          {keys.data && keys.data.length === 0 ? <p className="text-sm text-slate-600">You have no access keys in this tenant yet.</p> : null}
          {keys.data && keys.data.length > 0 ? <DataTable caption="Access keys" columns={columns} rows={keys.data} rowKey={(k) => k.id} /> : null}
        </div>
      </Card>
    </div>
  );
}
