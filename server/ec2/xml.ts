// EC2's XML responses. Lists are `<fooSet><item>…</item></fooSet>`; a value
// left undefined or null is left out, as EC2 leaves out what it does not know.
import { XMLBuilder } from 'fast-xml-parser';

export const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export type Xml = string | number | boolean | Date | null | undefined | XmlObject | { item: Xml[] };
export type XmlObject = { [name: string]: Xml };

/** A `…Set` of items. */
export const set = (items: Xml[]): { item: Xml[] } => ({ item: items });

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });

function plain(v: Xml): unknown {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if ('item' in v && Array.isArray(v.item)) return v.item.length ? { item: v.item.map(plain) } : '';
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = plain(val);
    if (p !== undefined) out[k] = p;
  }
  return out;
}

const declaration = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function response(action: string, requestId: string, body: XmlObject): string {
  return declaration + builder.build({ [`${action}Response`]: { '@_xmlns': XMLNS, requestId, ...(plain(body) as object) } });
}

export function errorResponse(code: string, message: string, requestId: string): string {
  return declaration + builder.build({ Response: { Errors: { Error: { Code: code, Message: message } }, RequestID: requestId } });
}
