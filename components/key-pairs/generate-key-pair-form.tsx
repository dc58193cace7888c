'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { generateKeyPairInput } from '@/server/keys/validation';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { KeyPairNameField } from './key-pair-name-field';
import { FormAlert } from '../ui/field';
import { keyPairRoleReason, type GeneratedKeyPair } from './key-pair-rules';
import { PrivateKeyPanel } from './private-key-panel';

const KEYS = ['name'] as const;

/**
 * Generate an ed25519 key pair on the server. The response carries the
 * private key once; it is moved into this form's state (the mutation's own
 * copy is dropped at once) and shown in a panel until the user closes it.
 */
export function GenerateKeyPairForm() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const generate = useMutation(trpc.keyPairs.generate.mutationOptions({ gcTime: 0 }));
  const [name, setName] = useState('');
  const { errors, setErrors, clear, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<string | null>(null);
  const [generated, setGenerated] = useState<GeneratedKeyPair | null>(null);
  const nameRef = useRef<HTMLDivElement>(null);
  // Focus goes back to the name field after a refusal, and after the panel closes.
  const [refocus, setRefocus] = useState(0);
  useEffect(() => {
    if (refocus > 0) nameRef.current?.querySelector('input')?.focus();
  }, [refocus]);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const parsed = generateKeyPairInput.safeParse({ name });
    if (!parsed.success) {
      setErrors({ name: parsed.error.issues[0]?.message });
      setRefocus((n) => n + 1);
      return;
    }
    setErrors({});
    try {
      const made = await generate.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      generate.reset();
      setName('');
      setGenerated(made);
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (onField) setRefocus((n) => n + 1);
      else setMessage(text);
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.keyPairs.pathKey() });
    }
  }

  if (generated) {
    return (
      <PrivateKeyPanel
        generated={generated}
        onClose={() => {
          setGenerated(null);
          setRefocus((n) => n + 1);
        }}
      />
    );
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Generate key pair" className="space-y-4">
      <FormAlert message={message} />
      <div ref={nameRef}>
        <KeyPairNameField
          value={name}
          placeholder="deploy"
          error={errors.name}
          onChange={(next) => {
            clear('name');
            setName(next);
          }}
        />
      </div>
      <Button type="submit" busy={generate.isPending} disabledReason={keyPairRoleReason(tenant.role)}>
        Generate key pair
      </Button>
    </form>
  );
}
