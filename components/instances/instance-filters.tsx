'use client';

import { useEffect, useState } from 'react';
import { instanceStates } from '@/server/instances/can';
import { SelectField, TextField } from '../ui/field';
import type { Filters } from './list-filters';

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

/** Typing settles for a moment before the list asks again. */
function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export function InstanceFilters({ initial, onChange }: { initial: Filters; onChange: (f: Filters) => void }) {
  const [f, setF] = useState<Filters>(initial);
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
