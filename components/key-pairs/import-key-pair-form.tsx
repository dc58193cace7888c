'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { importKeyPairInput } from '@/server/keys/validation';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { KeyPairNameField } from './key-pair-name-field';
import { FormAlert, TextAreaField } from '../ui/field';
import { keyPairRoleReason } from './key-pair-rules';

const KEYS = ['name', 'publicKey'] as const;

/**
 * Import a public key the user already has. The text is checked here first,
 * with the server's own rules, so a private key pasted by mistake is refused
 * before it is sent anywhere.
 */
export function ImportKeyPairForm() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(trpc.keyPairs.import.mutationOptions());
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const { errors, setErrors, clear, fromServer } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);

  // After a refused submit (only then: not while the user edits), take the reader to the first field to fix.
  const [refusals, setRefusals] = useState(0);
  useEffect(() => {
    if (refusals > 0) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [refusals]);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const parsed = importKeyPairInput.safeParse({ name, publicKey });
    if (!parsed.success) {
      const errs: Partial<Record<(typeof KEYS)[number], string>> = {};
      for (const issue of parsed.error.issues) {
        const key = issue.path[0];
        if ((key === 'name' || key === 'publicKey') && !errs[key]) errs[key] = issue.message;
      }
      setErrors(errs);
      setRefusals((n) => n + 1);
      return;
    }
    setErrors({});
    try {
      const made = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setName('');
      setPublicKey('');
      setMessage({ text: `Key pair ${made.name} imported (${made.fingerprint}).`, tone: 'success' });
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (onField) setRefusals((n) => n + 1);
      else setMessage({ text, tone: 'error' });
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.keyPairs.pathKey() });
    }
  }

  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="Import key pair" className="space-y-4">
      <FormAlert message={message?.text} tone={message?.tone} />
      <KeyPairNameField
        value={name}
        placeholder="laptop"
        error={errors.name}
        onChange={(next) => {
          clear('name');
          setName(next);
        }}
      />
      <TextAreaField
        className="font-mono text-xs"
        label="Public key"
        name="publicKey"
        value={publicKey}
        rows={4}
        required
        spellCheck={false}
        autoComplete="off"
        autoCapitalize="off"
        placeholder="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@laptop"
        error={errors.publicKey}
        hint={
          <>
            The one line of your <code className="font-mono">.pub</code> file, such as <code className="font-mono">~/.ssh/id_ed25519.pub</code>: ed25519,
            ECDSA or RSA of 2048 bits or more.
          </>
        }
        onChange={(e) => {
          clear('publicKey');
          setPublicKey(e.target.value);
        }}
      />
      <Button type="submit" busy={create.isPending} disabledReason={keyPairRoleReason(tenant.role)}>
        Import key pair
      </Button>
    </form>
  );
}
