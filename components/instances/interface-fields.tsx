'use client';

import { DEFAULT_RATE_MBIT, RATE_LIMITS } from '@/server/network/validation';
import { networkLabel, type Network } from '../networks/network-rules';
import { SelectField, TextField } from '../ui/field';
import { toNumber } from './size-fields';

/** One NIC as the form holds it: what the user chose, if anything (else the defaults show). */
export type InterfaceDraft = { networkId?: string; rate?: string };

/** The field key of NIC `i`'s network or rate, as the server names it in a refusal. */
export const interfaceKey = (i: number, field: 'networkId' | 'rateMbit') => `interfaces.${i}.${field}`;

/** The NICs the form shows: one per interface when the count is a valid one. */
export function interfaceCount(nics: string, max: number): number {
  const n = toNumber(nics);
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= max ? n : 0;
}

/** Each NIC's network (the default network unless chosen) and rate (the flavor's unless typed). */
export function resolveInterfaces(drafts: InterfaceDraft[], count: number, networks: Network[], defaultRate: number) {
  const fallback = networks[0]?.id;
  return Array.from({ length: count }, (_, i) => {
    const d = drafts[i] ?? {};
    const networkId = d.networkId && networks.some((n) => n.id === d.networkId) ? d.networkId : fallback;
    return { networkId, rate: d.rate ?? String(defaultRate) };
  });
}

/** The rates added up, or null while one of them is not a valid rate. */
export function totalRate(rates: string[]): number | null {
  let sum = 0;
  for (const r of rates) {
    const n = toNumber(r);
    if (n === undefined || !Number.isInteger(n) || n < RATE_LIMITS.min || n > RATE_LIMITS.max) return null;
    sum += n;
  }
  return sum;
}

/**
 * Per NIC: the network it joins and its rate in Mbit/s. The networks come
 * default first (the API's order), so an untouched picker means the default.
 */
export function InterfaceFields({
  networks,
  interfaces,
  onChange,
  errors,
  defaultRate,
  loading,
}: {
  networks: Network[];
  interfaces: { networkId?: string; rate: string }[];
  onChange: (i: number, change: InterfaceDraft) => void;
  errors: Record<string, string[] | undefined>;
  defaultRate: number;
  loading?: boolean;
}) {
  if (interfaces.length === 0) return <p className="text-sm text-slate-600">Set how many network interfaces the instance has (under Size) to pick their networks.</p>;
  const total = totalRate(interfaces.map((i) => i.rate));
  const options = networks.map((n) => ({ value: n.id, label: `${networkLabel(n)}${n.isDefault && n.name.toLowerCase() !== 'default' ? ' · default' : ''}` }));
  return (
    <div className="space-y-4">
      {loading ? <p role="status">Loading networks…</p> : null}
      <ol className="space-y-4">
        {interfaces.map((nic, i) => (
          <li key={i} className="grid gap-4 sm:grid-cols-[1fr_12rem]">
            <SelectField
              label={`eth${i} network`}
              name={interfaceKey(i, 'networkId')}
              value={nic.networkId ?? ''}
              options={options.length ? options : [{ value: '', label: 'The default network' }]}
              onChange={(e) => onChange(i, { networkId: e.target.value })}
              error={errors[interfaceKey(i, 'networkId')]}
            />
            <TextField
              label={`eth${i} rate (Mbit/s)`}
              name={interfaceKey(i, 'rateMbit')}
              type="number"
              inputMode="numeric"
              step={1}
              min={RATE_LIMITS.min}
              max={RATE_LIMITS.max}
              value={nic.rate}
              onChange={(e) => onChange(i, { rate: e.target.value })}
              hint={`${RATE_LIMITS.min}–${RATE_LIMITS.max.toLocaleString('en')}`}
              error={errors[interfaceKey(i, 'rateMbit')]}
            />
          </li>
        ))}
      </ol>
      <p className="text-sm text-slate-700">
        Total rate: <span className="font-medium tabular-nums">{total === null ? '—' : `${total.toLocaleString('en')} Mbit/s`}</span>
        <span className="block text-xs text-slate-500">
          Each interface is shaped to its rate both ways; the size’s preset proposes {defaultRate.toLocaleString('en')} Mbit/s
          {defaultRate === DEFAULT_RATE_MBIT ? '' : ` (the default is ${DEFAULT_RATE_MBIT})`}.
        </span>
      </p>
      {errors.bandwidthMbit ? (
        <p role="alert" className="text-sm text-red-700">
          {errors.bandwidthMbit[0]}
        </p>
      ) : null}
      {errors.interfaces ? (
        <p role="alert" className="text-sm text-red-700">
          {errors.interfaces[0]}
        </p>
      ) : null}
    </div>
  );
}
