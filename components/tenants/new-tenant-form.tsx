'use client';

import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, TextField } from '../ui/field';

export function NewTenantForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const create = useMutation(trpc.tenants.create.mutationOptions());

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    try {
      const tenant = await create.mutateAsync({ name: String(new FormData(e.currentTarget).get('name') ?? '') });
      router.push(`/t/${tenant.slug}/instances`);
      router.refresh();
    } catch (err) {
      const { message, fieldErrors } = describeError(err);
      setErrors(fieldErrors);
      if (!Object.keys(fieldErrors).length) setFormError(message);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate className="max-w-md space-y-4" aria-label="New tenant">
      <FormAlert message={formError} />
      <TextField label="Tenant name" name="name" required error={errors.name} hint="A team, project or customer. You will be its owner." />
      <Button type="submit" busy={create.isPending}>
        Create tenant
      </Button>
    </form>
  );
}
