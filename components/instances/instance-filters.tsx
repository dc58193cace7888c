'use client';

import { useEffect, useState } from 'react';
import { instanceStates, type InstanceState } from '@/server/instances/can';
import type { RouterInputs } from '@/server/trpc/root';
import { SelectField, TextField } from '../ui/field';

type ListInput = RouterInputs['instances']['list'];
export type Filters = { state: '' | 'all' | InstanceState; name: string; tag: string; sort: NonNullable<ListInput['sort']> };
export const defaultFilters: Filters = { state: '', name: '', tag: '', sort: 'newest' };
export const sameFilters = (a: Filters, b: Filters) => a.state === b.state && a.name === b.name && a.tag === b.tag && a.sort === b.sort;

const stateOptions = [
  { value: '', label: 'All but terminated' },
  { value: 'all', label: 'All, including terminated' },
  ...instanceStates.map((s) => ({ value: s, label: s[0]!.toUpperCase() + s.slice(1) })),
];
const sortOptions = [
  { value: 'newest', label: 'Newest first' },
  { value: 'oldest', label: 'Oldest first' },
  { value: 'name', label: 'Name' },
];

/** The list query's filter part: "env=prod" filters by tag and value, "env" by tag key alone. */
export function filterInput(f: Filters): Omit<ListInput, 'tenantId' | 'cursor'> {
  const tag = f.tag.trim();
  const eq = tag.indexOf('=');
  return {
    states: f.state && f.state !== 'all' ? [f.state] : undefined,
    includeTerminated: f.state === 'all',
    name: f.name.trim() || undefined,
    tag: tag ? (eq >= 0 ? { key: tag.slice(0, eq).trim(), value: tag.slice(eq + 1).trim() } : { key: tag }) : undefined,
    sort: f.sort,
  };
}

/** Typing settles for a moment before the list asks again. */
function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export function InstanceFilters({ onChange }: { onChange: (f: Filters) => void }) {
  const [f, setF] = useState<Filters>(defaultFilters);
  const name = useSettled(f.name);
  const tag = useSettled(f.tag);
  const { state, sort } = f;
  useEffect(() => onChange({ state, sort, name, tag }), [state, sort, name, tag, onChange]);
  return (
    <form role="search" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
      <SelectField label="State" value={f.state} options={stateOptions} onChange={(e) => setF({ ...f, state: e.target.value as Filters['state'] })} />
      <TextField label="Name contains" type="search" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
      <TextField label="Tag" placeholder="key or key=value" value={f.tag} onChange={(e) => setF({ ...f, tag: e.target.value })} />
      <SelectField label="Sort" value={f.sort} options={sortOptions} onChange={(e) => setF({ ...f, sort: e.target.value as Filters['sort'] })} />
    </form>
  );
}
