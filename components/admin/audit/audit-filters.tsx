'use client';

import { useState, type FormEvent } from 'react';
import { Button } from '../../ui/button';
import { SelectField, TextField } from '../../ui/field';
import type { AuditFilterValues } from './audit-api';

type Draft = { tenantId: string; actor: string; action: string; outcome: '' | 'success' | 'failure'; from: string; to: string };

const emptyDraft: Draft = { tenantId: '', actor: '', action: '', outcome: '', from: '', to: '' };

/** `<input type="datetime-local">` speaks local time without a zone; the API speaks instants. */
const localToDate = (v: string) => (v ? new Date(v) : undefined);

function toFilters(d: Draft): AuditFilterValues {
  const trimmed = (v: string) => v.trim() || undefined;
  return {
    tenantId: trimmed(d.tenantId),
    actor: trimmed(d.actor),
    action: trimmed(d.action),
    outcome: d.outcome || undefined,
    from: localToDate(d.from),
    to: localToDate(d.to),
  };
}

/** The audit log's filters; applied on submit, so typing does not fire a query per key. */
export function AuditFilters({ onApply, fieldErrors }: { onApply: (filters: AuditFilterValues) => void; fieldErrors: Record<string, string[]> }) {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const set = (key: keyof Draft) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(toFilters(draft));
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Filter the audit log" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        <TextField label="Actor" value={draft.actor} onChange={set('actor')} hint="Part of an e-mail, or “system”." error={fieldErrors.actor} />
        <TextField label="Action" value={draft.action} onChange={set('action')} hint="“instance.” for all instance actions, or one like “settings.set”." error={fieldErrors.action} />
        <SelectField
          label="Outcome"
          value={draft.outcome}
          onChange={set('outcome')}
          error={fieldErrors.outcome}
          options={[
            { value: '', label: 'Any' },
            { value: 'success', label: 'Success' },
            { value: 'failure', label: 'Failure' },
          ]}
        />
        <TextField label="Tenant ID" value={draft.tenantId} onChange={set('tenantId')} hint="The tenant’s UUID." error={fieldErrors.tenantId} spellCheck={false} />
        <TextField label="From" type="datetime-local" value={draft.from} onChange={set('from')} hint="Your local time, inclusive." error={fieldErrors.from} />
        <TextField label="To" type="datetime-local" value={draft.to} onChange={set('to')} hint="Your local time, exclusive." error={fieldErrors.to} />
      </div>
      <div className="flex flex-wrap gap-2">
        <Button type="submit">Apply filters</Button>
        <Button
          variant="secondary"
          onClick={() => {
            setDraft(emptyDraft);
            onApply(toFilters(emptyDraft));
          }}
        >
          Clear filters
        </Button>
      </div>
    </form>
  );
}
