'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, TextField } from '../ui/field';
import { useFieldErrors } from '../ui/field-errors';
import { NewAccessKeyPanel, type NewAccessKey } from './new-access-key-panel';

const KEYS = ['name'] as const;

/**
 * Create an access key. The answer carries its secret once: it is moved into
 * this form's state (the mutation's own copy is dropped at once) and shown
 * until the user presses Done.
 */
export function CreateAccessKeyForm() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(trpc.accessKeys.create.mutationOptions({ gcTime: 0 }));
  const [name, setName] = useState('');
  const { errors, clear, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<string | null>(null);
  const [created, setCreated] = useState<NewAccessKey | null>(null);
  const nameRef = useRef<HTMLDivElement>(null);
  // Focus goes back to the name field after a refusal, and after the secret is dismissed.
  const [refocus, setRefocus] = useState(0);
  useEffect(() => {
    if (refocus > 0) nameRef.current?.querySelector('input')?.focus();
  }, [refocus]);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    try {
      // The server's checks are the rules (name, and the limit of active keys): their sentences go beside the field or above the form.
      const made = await create.mutateAsync({ tenantId: tenant.id, name });
      create.reset();
      clear('name');
      setName('');
      setCreated(made);
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (!onField) setMessage(text);
      setRefocus((n) => n + 1);
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.accessKeys.list.queryKey({ tenantId: tenant.id }) });
    }
  }

  return (
    <div className="space-y-4">
      {/* Present before anything is created, so screen readers announce the one-time secret when it appears. */}
      <div aria-live="polite">
        {created ? (
          <NewAccessKeyPanel
            created={created}
            onDone={() => {
              setCreated(null);
              setRefocus((n) => n + 1);
            }}
          />
        ) : null}
      </div>
      {created ? null : (
        <form onSubmit={onSubmit} noValidate aria-label="Create access key" className="space-y-4">
          <FormAlert message={message} />
          <div ref={nameRef} className="max-w-sm">
            <TextField
              label="Key name"
              name="name"
              value={name}
              autoComplete="off"
              required
              placeholder="terraform on ci"
              error={errors.name}
              onChange={(e) => {
                clear('name');
                setName(e.target.value);
              }}
            />
          </div>
          <Button type="submit" busy={create.isPending}>
            Create access key
          </Button>
        </form>
      )}
    </div>
  );
}
