'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert, TextField } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable, formatDateTime } from '../ui/table';

type Token = RouterOutputs['tokens']['list'][number];

export function TokensPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.tokens.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() });
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const create = useMutation(trpc.tokens.create.mutationOptions());
  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({ onSuccess: refresh, onError: (e) => setFormError(describeError(e).message) }),
  );

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    setErrors({});
    setFormError(null);
    try {
      const token = await create.mutateAsync({ name: String(new FormData(formEl).get('name') ?? '') });
      setCreated({ name: token.name, secret: token.secret });
      formEl.reset();
      void refresh();
    } catch (err) {
      const { message, fieldErrors } = describeError(err);
      setErrors(fieldErrors);
      if (!Object.keys(fieldErrors).length) setFormError(message);
    }
  }

  const columns = [
    { header: 'Name', cell: (t: Token) => t.name },
    { header: 'Token', cell: (t: Token) => <code className="text-xs">{t.prefix}…</code> },
    { header: 'Created', cell: (t: Token) => formatDateTime(t.createdAt) },
    { header: 'Last used', cell: (t: Token) => (t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'Never') },
    {
      header: 'Status',
      cell: (t: Token) =>
        t.revokedAt ? (
          <span className="text-slate-500">Revoked {formatDateTime(t.revokedAt)}</span>
        ) : (
          <ConfirmButton
            question={`Revoke "${t.name}"?`}
            confirmLabel="Revoke"
            aria-label={`Revoke ${t.name}`}
            busy={revoke.isPending && revoke.variables?.id === t.id}
            onConfirm={() => revoke.mutate({ id: t.id })}
          >
            Revoke
          </ConfirmButton>
        ),
    },
  ];

  return (
    <div className="space-y-6">
      <Card
        title="Create an API token"
        description={
          <>
            Scripts and the CLI send it as <code>Authorization: Bearer &lt;token&gt;</code> and act as you in every tenant you
            belong to. The REST API it opens is described in the{' '}
            <a className="underline" href="/docs/api">
              API reference
            </a>
            .
          </>
        }
      >
        <form onSubmit={onSubmit} noValidate className="grid gap-4 sm:grid-cols-[1fr_auto] sm:items-start">
          <TextField label="Token name" name="name" required maxLength={60} error={errors.name} placeholder="laptop CLI" />
          <Button type="submit" busy={create.isPending} className="sm:mt-6">
            Create token
          </Button>
        </form>
        <div className="mt-3 space-y-3">
          <FormAlert message={formError} />
          {created ? (
            <div role="status" className="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900">
              <p className="font-medium">Token “{created.name}” created. Copy it now: it will not be shown again.</p>
              <div className="mt-2 flex flex-wrap items-center gap-2">
                <code data-testid="new-token" className="break-all rounded bg-white px-2 py-1 text-xs">
                  {created.secret}
                </code>
                <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(created.secret)}>
                  Copy
                </Button>
              </div>
            </div>
          ) : null}
        </div>
      </Card>
      <Card title="Your tokens">
        {tokens.isPending ? <p role="status">Loading tokens…</p> : null}
        {tokens.error ? <FormAlert message={describeError(tokens.error).message} /> : null}
        {tokens.data && tokens.data.length === 0 ? <p className="text-sm text-slate-600">You have no API tokens yet.</p> : null}
        {tokens.data && tokens.data.length > 0 ? (
          <DataTable caption="API tokens" columns={columns} rows={tokens.data} rowKey={(t) => t.id} />
        ) : null}
      </Card>
    </div>
  );
}
