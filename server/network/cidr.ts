// The rules of tenant networks: which CIDRs may be one, their gateway and
// usable range, a free /24 to propose. Pure (no server imports): the network
// form in the browser checks with the same rules.
import { contains, formatCidr, ip4, overlaps, sizeOf, type Ipv4Cidr } from '../hypervisor/net/ipv4';

export { formatCidr, formatIp4, ip4, overlaps, parseCidr, type Ipv4Cidr } from '../hypervisor/net/ipv4';

/** Tenant networks are private (RFC 1918) and between /16 and /28. */
export const PREFIX_RANGE = { min: 16, max: 28 } as const;
const PRIVATE_BLOCKS: Ipv4Cidr[] = [
  { network: ip4('10.0.0.0'), prefix: 8 },
  { network: ip4('172.16.0.0'), prefix: 12 },
  { network: ip4('192.168.0.0'), prefix: 16 },
];

/** Why a CIDR cannot be a tenant network (null when it can): private, /16 to /28. */
export function whyNotTenantCidr(c: Ipv4Cidr): string | null {
  if (c.prefix < PREFIX_RANGE.min || c.prefix > PREFIX_RANGE.max) {
    return `A network is between /${PREFIX_RANGE.min} (65,533 addresses for instances) and /${PREFIX_RANGE.max} (13); ${formatCidr(c)} is a /${c.prefix}.`;
  }
  if (!PRIVATE_BLOCKS.some((b) => contains(b, c))) {
    return `${formatCidr(c)} is not a private range: use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).`;
  }
  return null;
}

/**
 * The addresses a network hands out: everything but the network address, the
 * gateway (its first address) and the broadcast address.
 */
export function usableAddresses(c: Ipv4Cidr): number {
  return sizeOf(c) - 3;
}

export function gatewayOf(c: Ipv4Cidr): number {
  return c.network + 1;
}

/** The first /24 in 10.0.0.0/8 that overlaps none of `taken` (null if all 65,536 are). */
export function proposeCidr(taken: Ipv4Cidr[]): Ipv4Cidr | null {
  for (let i = 0; i < 65_536; i++) {
    const candidate = { network: (ip4('10.0.0.0') + i * 256) >>> 0, prefix: 24 };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return null;
}
