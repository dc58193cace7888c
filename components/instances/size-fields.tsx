'use client';

import { useState } from 'react';
import { LIMITS } from '@/server/instances/validation';
import type { RouterOutputs } from '@/server/trpc/root';
import { TextField } from '../ui/field';
import { formatSize } from './format';

type Flavor = RouterOutputs['flavors']['list'][number];
export type SizeKey = keyof typeof LIMITS;
/** As typed: strings, so a half-typed number is kept and the form says what is wrong with it. */
export type SizeDraft = Record<SizeKey, string>;

export const sizeFromFlavor = (f: Pick<Flavor, SizeKey>): SizeDraft => ({
  vcpus: String(f.vcpus),
  memoryMiB: String(f.memoryMiB),
  diskGiB: String(f.diskGiB),
  nics: String(f.nics),
});

/** A typed number, or undefined when the box does not hold one (zod then says so). */
export const toNumber = (s: string): number | undefined => (s.trim() === '' || Number.isNaN(Number(s)) ? undefined : Number(s));

const fields: { key: SizeKey; label: string; unit: string }[] = [
  { key: 'vcpus', label: 'vCPUs', unit: '' },
  { key: 'memoryMiB', label: 'Memory (MiB)', unit: ' MiB' },
  { key: 'diskGiB', label: 'Disk (GiB)', unit: ' GiB' },
  { key: 'nics', label: 'Network interfaces', unit: '' },
];

/** The four size numbers with the launch bounds as hints; the caller lays them out. */
export function SizeNumberFields({
  size,
  onChange,
  errors,
}: {
  size: SizeDraft;
  onChange: (key: SizeKey, value: string) => void;
  errors: Partial<Record<string, string | string[] | undefined>>;
}) {
  return fields.map(({ key, label, unit }) => (
    <TextField
      key={key}
      label={label}
      name={key}
      type="number"
      inputMode="numeric"
      step={1}
      min={LIMITS[key].min}
      max={LIMITS[key].max}
      value={size[key]}
      onChange={(e) => onChange(key, e.target.value)}
      hint={`${LIMITS[key].min}–${LIMITS[key].max}${unit}`}
      error={errors[key]}
    />
  ));
}

/**
 * Size presets (flavors) as radio cards, and the four numbers they fill in.
 * Until the user edits a number, the preset whose numbers are shown is the chosen one.
 */
export function SizeFields({
  flavors,
  size,
  onChange,
  errors,
  disabled,
}: {
  flavors: Flavor[];
  size: SizeDraft;
  onChange: (size: SizeDraft) => void;
  errors: Record<string, string[] | undefined>;
  disabled?: boolean;
}) {
  // Choosing a preset fills the numbers; editing a number (or picking Custom) makes the size custom.
  const [custom, setCustom] = useState(false);
  const chosen = custom ? undefined : flavors.find((f) => fields.every(({ key }) => String(f[key]) === size[key].trim()));
  const card =
    'flex cursor-pointer items-start gap-2 rounded-md border border-slate-300 bg-white p-3 text-sm has-checked:border-sky-700 has-checked:bg-sky-50 has-checked:ring-1 has-checked:ring-sky-700 has-focus-visible:ring-2 has-focus-visible:ring-sky-500';
  return (
    <fieldset className="space-y-4" disabled={disabled}>
      <legend className="sr-only">Size</legend>
      <div className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {flavors.map((f) => (
          <label key={f.id} className={card}>
            <input
              type="radio"
              name="flavor"
              className="mt-0.5"
              checked={chosen?.id === f.id}
              onChange={() => {
                setCustom(false);
                onChange(sizeFromFlavor(f));
              }}
            />
            <span>
              <span className="block font-medium text-slate-900">{f.name}</span>
              <span className="block text-slate-600">{formatSize(f)}</span>
            </span>
          </label>
        ))}
        <label className={card}>
          <input type="radio" name="flavor" className="mt-0.5" checked={!chosen} onChange={() => setCustom(true)} />
          <span>
            <span className="block font-medium text-slate-900">Custom</span>
            <span className="block text-slate-600">Set the numbers below.</span>
          </span>
        </label>
      </div>
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <SizeNumberFields
          size={size}
          errors={errors}
          onChange={(key, value) => {
            setCustom(true);
            onChange({ ...size, [key]: value });
          }}
        />
      </div>
    </fieldset>
  );
}
