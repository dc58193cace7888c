'use client';

import { Button } from '../ui/button';
import { TextField } from '../ui/field';

export type TagRow = { id: number; key: string; value: string };

/** Key/value rows, added and removed one at a time. Empty rows are ignored. */
export function TagsEditor({
  rows,
  onChange,
  errors,
  disabled,
}: {
  rows: TagRow[];
  onChange: (rows: TagRow[]) => void;
  errors: Record<number, string | undefined>;
  disabled?: boolean;
}) {
  const update = (id: number, patch: Partial<TagRow>) => onChange(rows.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  return (
    <fieldset className="space-y-3" disabled={disabled}>
      <legend className="sr-only">Tags</legend>
      {rows.length === 0 ? <p className="text-sm text-slate-600">No tags. Tags help you find instances, like env=prod.</p> : null}
      {rows.map((r, i) => (
        <div key={r.id} className="grid grid-cols-[1fr_1fr_auto] items-start gap-2">
          <TextField label={`Tag ${i + 1} key`} value={r.key} onChange={(e) => update(r.id, { key: e.target.value })} error={errors[r.id]} />
          <TextField label={`Tag ${i + 1} value`} value={r.value} onChange={(e) => update(r.id, { value: e.target.value })} />
          <Button variant="ghost" className="mt-6" aria-label={`Remove tag ${i + 1}`} onClick={() => onChange(rows.filter((x) => x.id !== r.id))}>
            Remove
          </Button>
        </div>
      ))}
      <Button variant="secondary" onClick={() => onChange([...rows, { id: Math.max(0, ...rows.map((r) => r.id)) + 1, key: '', value: '' }])}>
        Add tag
      </Button>
    </fieldset>
  );
}
