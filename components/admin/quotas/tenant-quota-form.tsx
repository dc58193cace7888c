'use client';

import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { Card } from '../../ui/page';
import { LIMITS, parseLimit, type LimitKey, type QuotaLimits } from './limits';
import { useFieldErrors } from '../../ui/field-errors';

type Errors = Partial<Record<LimitKey | 'tenantId', string>>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMPTY = Object.fromEntries(LIMITS.map((l) => [l.key, ''])) as Record<LimitKey, string>;

/** Override some limits for one tenant, named by its id; empty fields keep what the tenant has. */
export function TenantQuotaForm() {
  const trpc = useTRPC();
  const [tenantId, setTenantId] = useState('');
  const [values, setValues] = useState<Record<LimitKey, string>>(EMPTY);
  const { errors, setErrors, clear: edit, fromServer } = useFieldErrors<keyof Errors>(['tenantId', ...LIMITS.map((l) => l.key)]);
  const [message, setMessage] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const save = useMutation(trpc.admin.quotas.set.mutationOptions());

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setMessage(null);
    const errs: Errors = {};
    const id = tenantId.trim();
    if (!UUID.test(id)) errs.tenantId = 'Enter the tenant id: a UUID of 36 characters.';
    const limits: Partial<QuotaLimits> = {};
    for (const l of LIMITS) {
      if (!values[l.key].trim()) continue;
      const parsed = parseLimit(values[l.key], l.what, l.max);
      if ('error' in parsed) errs[l.key] = parsed.error;
      else limits[l.key] = parsed.value;
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    if (Object.keys(limits).length === 0) {
      setMessage({ text: 'Fill in at least one limit to override.', tone: 'error' });
      return;
    }
    try {
      await save.mutateAsync({ tenantId: id, limits });
      setMessage({ text: `Quota override saved for tenant ${id}.`, tone: 'success' });
      setValues(EMPTY);
    } catch (err) {
      setMessage({ text: fromServer(err, 'limits').message, tone: 'error' });
    }
  }

  return (
    <Card
      title="Tenant override"
      description="Change the limits of one tenant by its id (a UUID; its page under Tenants shows it). Tenants → Manage does the same from the list. Leave a limit empty to keep what the tenant has now."
    >
      <form onSubmit={onSubmit} noValidate aria-label="Tenant override" className="space-y-4">
        <FormAlert message={message?.text} tone={message?.tone} />
        <TextField
          label="Tenant id"
          name="tenantId"
          autoComplete="off"
          spellCheck={false}
          value={tenantId}
          onChange={(e) => {
            edit('tenantId');
            setTenantId(e.target.value);
          }}
          error={errors.tenantId}
          hint="A UUID, for example 3f2b9c1e-8d4a-4c7b-9e21-5a6f0d7c8b90."
        />
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
          {LIMITS.map((l) => (
            <TextField
              key={l.key}
              label={`${l.label} (optional)`}
              name={l.key}
              inputMode="numeric"
              autoComplete="off"
              value={values[l.key]}
              onChange={(e) => {
                edit(l.key);
                setValues((old) => ({ ...old, [l.key]: e.target.value }));
              }}
              error={errors[l.key]}
            />
          ))}
        </div>
        <Button type="submit" busy={save.isPending}>
          Save override
        </Button>
      </form>
    </Card>
  );
}
