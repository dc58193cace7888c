import type { RouterOutputs } from '@/server/trpc/root';

export type BillingSummary = RouterOutputs['billing']['summary'];
export type Invoice = RouterOutputs['billing']['invoice'];
export type Resource = Invoice['lines'][number]['resource'];

export const MICRO = 1_000_000;

/**
 * Micro-units as money, honestly: a few seconds of a tiny VM cost fractions of
 * a cent, so up to six decimals are shown (never fewer than two).
 */
export function formatMoney(micro: number, currency: string): string {
  return (micro / MICRO).toLocaleString(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 6 });
}

/**
 * "12.5" → 12_500_000 micro-units, exactly (no floating point on the way).
 * Returns a sentence instead when the text is not an amount with at most six decimals.
 */
export function parseMoney(text: string, label: string): { micro: number } | { error: string } {
  const t = text.trim().replace(/,/g, '');
  if (!t) return { error: `Enter ${label}.` };
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m) return { error: `${capitalise(label)} must be a positive number, like 12.50.` };
  const [, whole = '0', frac = ''] = m;
  if (frac.length > 6) return { error: `${capitalise(label)} can have at most 6 decimals (one micro-unit).` };
  const micro = Number(whole) * MICRO + Number(frac.padEnd(6, '0') || '0');
  if (!Number.isSafeInteger(micro)) return { error: `${capitalise(label)} is too large.` };
  return { micro };
}

/** Micro-units as a plain decimal with six places, for form fields ("0.010400"). */
export function microToDecimal(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const abs = Math.abs(micro);
  return `${sign}${Math.floor(abs / MICRO)}.${String(abs % MICRO).padStart(6, '0')}`;
}

function capitalise(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export const RESOURCE_LABELS: Record<Resource, { name: string; unit: string; rule: string }> = {
  vcpu: { name: 'vCPUs', unit: 'vCPU-hour', rule: 'while running' },
  memory_mib: { name: 'Memory', unit: 'GiB-hour', rule: 'while running' },
  disk_gib: { name: 'Disk', unit: 'GiB-hour', rule: 'until terminated' },
  nic: { name: 'Network interfaces', unit: 'NIC-hour', rule: 'until terminated' },
  bandwidth_mbit: { name: 'Network bandwidth', unit: 'Mbit/s-hour', rule: 'while running, at each NIC’s rate' },
  port_forward: { name: 'Port forwards', unit: 'forward-hour', rule: 'while they exist' },
  saved_state_mib: { name: 'Saved state', unit: 'GiB-hour', rule: 'while suspended, by the size of its state file' },
  snapshot_mib: { name: 'Snapshots', unit: 'GiB-hour', rule: 'while they exist, by the bytes they really take' },
  image_mib: { name: 'Images', unit: 'GiB-hour', rule: 'a tenant’s own images, while they exist, by the bytes their files take' },
  volume_gib: { name: 'Volumes', unit: 'GiB-hour', rule: 'while they exist, by the size they were made with' },
  volume_iops: { name: 'Volume IOPS', unit: 'IOPS-hour', rule: 'while a volume exists, for the IOPS provisioned above its baseline' },
  volume_mbps: { name: 'Volume throughput', unit: 'MB/s-hour', rule: 'while a volume exists, for the MB/s provisioned above its baseline' },
};

/** A resource's name and billing rule; unknown resources show as they are. */
export function resourceInfo(resource: string): { name: string; unit: string; rule: string } {
  return resource in RESOURCE_LABELS ? RESOURCE_LABELS[resource as Resource] : { name: resource, unit: 'unit-hour', rule: '' };
}

/** "2026-11" → "November 2026" (months are UTC). */
export function formatMonth(month: string): string {
  return new Date(`${month}-01T00:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** "2026-11-23" → "Nov 23". */
export function formatDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** Today in UTC, as a date input wants it. */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** CSV links: plain downloads, authenticated by the session cookie. */
export const invoiceCsvHref = (tenantId: string, month: string) =>
  `/api/billing/invoice-csv?${new URLSearchParams({ tenantId, month }).toString()}`;

/** The ledger for whole UTC days: from the start of `fromDay` to the end of `toDay`. */
export function ledgerPeriod(fromDay: string, toDay: string): { from: Date; to: Date } | { error: string } {
  const from = new Date(`${fromDay}T00:00:00Z`);
  const to = new Date(`${toDay}T00:00:00Z`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return { error: 'Pick both days.' };
  to.setUTCDate(to.getUTCDate() + 1);
  if (from >= to) return { error: 'The last day cannot be before the first.' };
  if (to.getTime() - from.getTime() > 400 * 86_400_000) return { error: 'Ask for at most 400 days at a time.' };
  return { from, to };
}

export const ledgerCsvHref = (tenantId: string, from: Date, to: Date) =>
  `/api/billing/ledger-csv?${new URLSearchParams({ tenantId, from: from.toISOString(), to: to.toISOString() }).toString()}`;
