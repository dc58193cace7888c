'use client';

import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import type { RouterOutputs } from '@/server/trpc/root';

type Created = RouterOutputs['admin']['tenants']['create'];

/**
 * Create a tenant on someone's behalf. The owner must already have signed up,
 * so the server's refusal (no such user, user disabled) lands beside the e-mail.
 */
export function CreateTenantForm({ onCreated }: { onCreated: (tenant: Created) => Promise<unknown> }) {
  const trpc = useTRPC();
  const create = useMutation(trpc.admin.tenants.create.mutationOptions());
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ tenant: Created; ownerEmail: string } | null>(null);
  // Busy until the list shows the new tenant, not only until the server answered.
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const input = { name: String(form.get('name') ?? ''), ownerEmail: String(form.get('ownerEmail') ?? '') };
    setErrors({});
    setFormError(null);
    setCreated(null);
    setBusy(true);
    try {
      const tenant = await create.mutateAsync(input);
      formEl.reset();
      // The list below is narrowed to the new tenant before the notice names it.
      await onCreated(tenant);
      setCreated({ tenant, ownerEmail: input.ownerEmail.trim().toLowerCase() });
    } catch (err) {
      const { message, fieldErrors } = describeError(err);
      setErrors(fieldErrors);
      // A refusal that names no field of this form still has to be read somewhere.
      if (!fieldErrors.name && !fieldErrors.ownerEmail) setFormError(message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Create tenant" description="For someone who has already signed up: they become its owner and it starts with the default quotas.">
      <form noValidate onSubmit={onSubmit} className="space-y-4">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="Tenant name" name="name" required maxLength={60} autoComplete="off" error={errors.name} hint="2 to 60 characters." />
          <TextField
            label="Owner e-mail"
            name="ownerEmail"
            type="email"
            required
            autoComplete="off"
            error={errors.ownerEmail}
            hint="The e-mail of an existing, enabled Cirrus user."
          />
        </div>
        <FormAlert message={formError} />
        {created ? (
          <div role="status" className="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
            {created.tenant.name} was created with {created.ownerEmail} as its owner.{' '}
            <Link href={`/admin/tenants/${created.tenant.id}`} className="font-medium underline">
              View {created.tenant.name}
            </Link>
          </div>
        ) : null}
        <Button type="submit" busy={busy}>
          Create tenant
        </Button>
      </form>
    </Card>
  );
}
