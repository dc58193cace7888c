'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { copyWhyNot } from '@/server/instances/can';
import { createImageInput } from '@/server/images/validation';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';
import { CopyFromField, NOW } from './clone-form';
import { roleReason, type Instance } from './format';

const KEYS = ['name', 'snapshotId'] as const;

/** Make an image of this instance (its disk now or a snapshot, flattened) that the tenant can launch from. */
export function ImageForm({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(trpc.images.create.mutationOptions());
  const [name, setName] = useState('');
  const [from, setFrom] = useState(NOW);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [formError, setFormError] = useState<string | null>(null);
  const [made, setMade] = useState<{ id: string; name: string } | null>(null);
  const notAllowed = roleReason(tenant.role) ?? copyWhyNot('capture', instance.state, from !== NOW) ?? undefined;

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    setMade(null);
    const parsed = createImageInput.safeParse({ instanceId: instance.id, name, snapshotId: from === NOW ? null : from });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      const image = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setName('');
      setMade(image);
      void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() });
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Make image" className="space-y-3">
      <FormAlert message={formError} />
      {made ? (
        <p role="status" className="rounded-md border border-green-200 bg-green-50 px-3 py-2 text-sm text-green-900">
          Making image “{made.name}” ({made.id}). Follow it on the{' '}
          <Link className="font-medium underline" href={`/t/${tenant.slug}/images`}>
            Images
          </Link>{' '}
          page; once available it is in the launch form.
        </p>
      ) : null}
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField
          label="Image name"
          name="imageName"
          required
          maxLength={64}
          value={name}
          onChange={(e) => {
            clear('name');
            setName(e.target.value);
          }}
          error={errors.name}
        />
        <CopyFromField
          instance={instance}
          label="Make it from"
          value={from}
          onChange={(v) => {
            clear('snapshotId');
            setFrom(v);
          }}
          error={errors.snapshotId}
          snapshotHint="The disk as this snapshot holds it."
        />
      </div>
      <p className="text-xs text-slate-600">
        One standalone disk of {instance.diskGiB} GiB, booted like this instance’s image. Only this tenant sees it (an administrator may share it with every
        tenant); it is billed as storage by the bytes it takes until you delete it.
      </p>
      <Button type="submit" disabledReason={notAllowed} busy={create.isPending}>
        Make image
      </Button>
    </form>
  );
}
