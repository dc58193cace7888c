'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { roles, type Role } from '@/server/tenants/roles';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert, SelectField, TextField } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';

type Member = RouterOutputs['tenants']['members']['list'][number];
const roleOptions = roles.map((r) => ({ value: r, label: r[0]!.toUpperCase() + r.slice(1) }));

export function MembersPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isOwner = tenant.role === 'owner';
  const notOwner = isOwner ? undefined : 'Only owners can change members.';
  const members = useQuery(trpc.tenants.members.list.queryOptions({ tenantId: tenant.id }));
  const [actionError, setActionError] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tenants.members.list.queryKey() });
  const onError = (err: unknown) => setActionError(describeError(err).message);

  const setRole = useMutation(trpc.tenants.members.setRole.mutationOptions({ onSuccess: refresh, onError }));
  const remove = useMutation(trpc.tenants.members.remove.mutationOptions({ onSuccess: refresh, onError }));

  const columns = [
    { header: 'Name', cell: (m: Member) => m.name },
    { header: 'E-mail', cell: (m: Member) => m.email },
    {
      header: 'Role',
      cell: (m: Member) => (
        <select
          aria-label={`Role of ${m.email}`}
          value={m.role}
          disabled={!isOwner || setRole.isPending}
          title={notOwner}
          onChange={(e) => {
            setActionError(null);
            setRole.mutate({ tenantId: tenant.id, userId: m.userId, role: e.target.value as Role });
          }}
          className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm disabled:bg-slate-50"
        >
          {roleOptions.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      ),
    },
    { header: 'Member since', cell: (m: Member) => formatDateTime(m.since) },
    {
      header: 'Actions',
      cell: (m: Member) => (
        <ConfirmButton
          question={`Remove ${m.email}?`}
          confirmLabel="Remove"
          aria-label={`Remove ${m.email}`}
          disabledReason={notOwner}
          busy={remove.isPending && remove.variables?.userId === m.userId}
          onConfirm={() => {
            setActionError(null);
            remove.mutate({ tenantId: tenant.id, userId: m.userId });
          }}
        >
          Remove
        </ConfirmButton>
      ),
    },
  ];

  return (
    <div className="space-y-6">
      <Card title="Members" description={`People who can use ${tenant.name}. Owners manage members; members operate instances; viewers only look.`}>
        <FormAlert message={actionError} />
        {members.isPending ? <p role="status">Loading members…</p> : null}
        {members.error ? <FormAlert message={describeError(members.error).message} /> : null}
        {members.data ? <DataTable caption="Members" columns={columns} rows={members.data} rowKey={(m) => m.userId} /> : null}
      </Card>
      {isOwner ? <AddMemberForm tenantId={tenant.id} onAdded={refresh} /> : null}
    </div>
  );
}

function AddMemberForm({ tenantId, onAdded }: { tenantId: string; onAdded: () => void }) {
  const trpc = useTRPC();
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const add = useMutation(trpc.tenants.members.add.mutationOptions());

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    setErrors({});
    setMessage(null);
    try {
      const m = await add.mutateAsync({ tenantId, email: String(form.get('email') ?? ''), role: String(form.get('role')) as Role });
      setMessage({ text: `${m.email} was added as ${m.role}.`, tone: 'success' });
      formEl.reset();
      onAdded();
    } catch (err) {
      const { message: text, fieldErrors } = describeError(err);
      setErrors(fieldErrors);
      if (!Object.keys(fieldErrors).length) setMessage({ text, tone: 'error' });
    }
  }

  return (
    <Card title="Add a member" description="They need a Cirrus account already; add them by its e-mail.">
      <form onSubmit={onSubmit} noValidate className="grid gap-4 sm:grid-cols-[1fr_12rem_auto] sm:items-start">
        <TextField label="E-mail" name="email" type="email" required error={errors.email} />
        <SelectField label="Role" name="role" defaultValue="member" options={roleOptions} error={errors.role} />
        <Button type="submit" busy={add.isPending} className="sm:mt-6">
          Add member
        </Button>
      </form>
      <div className="mt-3">
        <FormAlert message={message?.text} tone={message?.tone} />
      </div>
    </Card>
  );
}
