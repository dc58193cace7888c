// IPv4 arithmetic: dotted quads as unsigned 32-bit numbers, CIDR blocks,
// containment and overlap. Pure (no imports): the data plane, the domain and
// the browser's forms share it.

export type Ipv4Cidr = { network: number; prefix: number };

/** A dotted quad as an unsigned 32-bit number; throws on anything else. */
export function ip4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`not an IPv4 address: ${text}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) throw new Error(`not an IPv4 address: ${text}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
export const sizeOf = (c: Ipv4Cidr) => 2 ** (32 - c.prefix);
export const formatCidr = (c: Ipv4Cidr) => `${formatIp4(c.network)}/${c.prefix}`;

/** `a.b.c.d/p` with no host bits set; throws with a sentence a user can read. */
export function parseCidr(text: string): Ipv4Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new Error('Write the range as an IPv4 CIDR, like 10.0.0.0/24.');
  let address: number;
  try {
    address = ip4(m[1]!);
  } catch {
    throw new Error('Write the range as an IPv4 CIDR, like 10.0.0.0/24.');
  }
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error('Write the range as an IPv4 CIDR, like 10.0.0.0/24.');
  const network = (address & maskOf(prefix)) >>> 0;
  if (network !== address) throw new Error(`${text.trim()} has host bits set; the network is ${formatIp4(network)}/${prefix}.`);
  return { network, prefix };
}

export function contains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && ((inner.network & maskOf(outer.prefix)) >>> 0) === outer.network;
}

export function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return contains(a, b) || contains(b, a);
}
