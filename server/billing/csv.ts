import type { ChargeLine } from './charges';

/** RFC 4180 field: quoted when it holds a comma, quote or newline; formula-leading characters neutralised for spreadsheets. */
export function csvField(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvRow = (fields: (string | number | null | undefined)[]) => fields.map(csvField).join(',') + '\r\n';

const micro = (m: number) => (m / 1_000_000).toFixed(6);

export function invoiceCsv(inv: { month: string; currency: string; lines: ChargeLine[]; totalMicro: number }): string {
  // The image and volume columns came last (a line is for an instance, an image or a volume), so readers of the older columns are unaffected.
  let out = csvRow(['month', 'instance_id', 'instance_name', 'resource', 'seconds', 'unit_seconds', `amount_${inv.currency.toLowerCase()}`, 'amount_micro', 'image_id', 'image_name', 'volume_id', 'volume_name']);
  for (const l of inv.lines) {
    out += csvRow([inv.month, l.instanceId ?? '', l.instanceName ?? '', l.resource, l.seconds, l.unitSeconds, micro(l.amountMicro), l.amountMicro, l.imageId ?? '', l.imageName ?? '', l.volumeId ?? '', l.volumeName ?? '']);
  }
  out += csvRow([inv.month, '', 'TOTAL', '', '', '', micro(inv.totalMicro), inv.totalMicro, '', '', '', '']);
  return out;
}

type LedgerRow = { id: bigint; instanceId: string | null; instanceName: string | null; imageId: string | null; imageName: string | null; volumeId: string | null; volumeName: string | null; resource: string; quantity: number; startedAt: Date; endedAt: Date | null };

export function ledgerCsv(rows: LedgerRow[]): string {
  let out = csvRow(['segment_id', 'instance_id', 'instance_name', 'resource', 'quantity', 'started_at', 'ended_at', 'image_id', 'image_name', 'volume_id', 'volume_name']);
  for (const r of rows) {
    out += csvRow([String(r.id), r.instanceId ?? '', r.instanceName ?? '', r.resource, r.quantity, r.startedAt.toISOString(), r.endedAt?.toISOString() ?? '', r.imageId ?? '', r.imageName ?? '', r.volumeId ?? '', r.volumeName ?? '']);
  }
  return out;
}
