'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { createNetworkInput } from '@/server/network/validation';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, TextField } from '../ui/field';
import { networkRoleReason } from './network-rules';

const KEYS = ['name', 'cidr'] as const;

/**
 * Create a network: a name and a range. The range starts as the first free /24
 * Cirrus proposes; emptied, the server picks it.
 */
export function NetworkForm() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const proposal = useQuery(trpc.networks.proposeCidr.queryOptions({ tenantId: tenant.id }));
  const create = useMutation(trpc.networks.create.mutationOptions());
  const [name, setName] = useState('');
  // null until the user types: the field shows the proposal.
  const [typedCidr, setCidr] = useState<string | null>(null);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const proposed = proposal.data?.cidr ?? '';
  const cidr = typedCidr ?? proposed;
  const notAllowed = networkRoleReason(tenant.role);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const parsed = createNetworkInput.safeParse({ name, cidr: cidr.trim() === '' ? undefined : cidr });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      const made = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setName('');
      setCidr(null);
      setMessage({ text: `Network ${made.name} (${made.cidr}) created.`, tone: 'success' });
    } catch (err) {
      const { message: text, onField } = fromServer(err);
      if (!onField) setMessage({ text, tone: 'error' });
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.networks.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Create network" className="space-y-4">
      <FormAlert message={message?.text} tone={message?.tone} />
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField
          label="Network name"
          name="name"
          value={name}
          autoComplete="off"
          maxLength={40}
          required
          placeholder="lab"
          error={errors.name}
          onChange={(e) => {
            clear('name');
            setName(e.target.value);
          }}
        />
        <TextField
          label="CIDR"
          name="cidr"
          value={cidr}
          autoComplete="off"
          spellCheck={false}
          placeholder={proposed || '10.0.1.0/24'}
          error={errors.cidr}
          hint="A private IPv4 range, /16 to /28, that overlaps none of this tenant’s networks. Leave it empty and Cirrus picks a free /24."
          onChange={(e) => {
            clear('cidr');
            setCidr(e.target.value);
          }}
        />
      </div>
      <Button type="submit" busy={create.isPending} disabledReason={notAllowed}>
        Create network
      </Button>
    </form>
  );
}
