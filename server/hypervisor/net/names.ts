// Names and addresses of everything Cirrus creates in a host's kernel,
// derived from ids so that they are stable across restarts and fit the
// kernel's 15-character interface names:
//
//   c + kind + host tag (3 hex) + 10 hex of sha256(object id)
//
//   cb…  bridge of a network          cg…  the router's port on that bridge (veth)
//   cr…  transit link to the router   ct…  a guest NIC's tap   ci…  its IFB (guest → host shaping)
//   cx…  the network's VXLAN port on its bridge (the network's other hosts, over the underlay)
//
// The host tag (10 bits of the host id) keeps two Cirrus hosts on one kernel
// (two data directories, as the tests run) apart; HostNetwork locks it.
import { createHash } from 'node:crypto';
import { formatIp4, ip4 } from './ipv4';

export const HOST_TAG_PATTERN = /^[0-3][0-9a-f]{2}$/;
export const INTERFACE_PATTERN = /^c[bgrtix][0-3][0-9a-f]{12}$/;
export type InterfaceKind = 'b' | 'g' | 'r' | 't' | 'i' | 'x';

const hash10 = (id: string) => createHash('sha256').update(id).digest('hex').slice(0, 10);

/** 000–3ff: the host's tag in interface names and its transit block. */
export function hostTag(hostId: string): string {
  const h = createHash('sha256').update(`host/${hostId}`).digest();
  return (((h[0]! << 8) | h[1]!) & 0x3ff).toString(16).padStart(3, '0');
}

function name(kind: InterfaceKind, tag: string, id: string): string {
  if (!HOST_TAG_PATTERN.test(tag)) throw new Error(`bad host tag ${JSON.stringify(tag)}`);
  return `c${kind}${tag}${hash10(id)}`;
}

export const bridgeName = (tag: string, networkId: string) => name('b', tag, networkId);
export const routerPortName = (tag: string, networkId: string) => name('g', tag, networkId);
export const transitName = (tag: string, networkId: string) => name('r', tag, networkId);
export const tapName = (tag: string, nicId: string) => name('t', tag, nicId);
export const ifbName = (tag: string, nicId: string) => name('i', tag, nicId);
export const vxlanName = (tag: string, networkId: string) => name('x', tag, networkId);
/** The UDP port VXLAN uses between hosts (IANA's). */
export const VXLAN_PORT = 4789;

/** Our interfaces of one kind on this host: `cb<tag>` etc. (for orphan sweeps and nft wildcards). */
export const prefixOf = (kind: InterfaceKind, tag: string) => `c${kind}${tag}`;
/** An IFB belongs to the tap with the same suffix. */
export const tapOfIfb = (ifb: string) => `ct${ifb.slice(2)}`;

/** The router namespace of a network on this host. */
export const routerNamespace = (tag: string, networkId: string) => `cirrus-${tag}-${networkId}`;
export const NAMESPACE_PATTERN = /^cirrus-([0-3][0-9a-f]{2})-([0-9a-f-]{36})$/;

/** Inside a router namespace the names are fixed. */
export const ROUTER_LAN = 'gw0';
export const ROUTER_UPLINK = 'up0';

// Transit addressing: 100.64.0.0/10 (shared address space, RFC 6598) cut into
// 1,024 blocks of 4,096, one per host tag; slot n of a block is a /31 pair,
// the host's side even, the router's side odd. 2,048 networks per host.
export const TRANSIT_SLOTS = 2048;
const TRANSIT_BASE = ip4('100.64.0.0');

export function transitBlock(tag: string): string {
  return `${formatIp4(TRANSIT_BASE + parseInt(tag, 16) * 4096)}/20`;
}

export function transitPair(tag: string, slot: number): { host: string; router: string } {
  if (!Number.isInteger(slot) || slot < 0 || slot >= TRANSIT_SLOTS) throw new Error(`bad transit slot ${slot}`);
  const base = TRANSIT_BASE + parseInt(tag, 16) * 4096 + slot * 2;
  return { host: formatIp4(base), router: formatIp4(base + 1) };
}

/** A stable MAC for a bridge or router port, so ARP caches survive re-creation. */
export function stableMac(id: string): string {
  const h = createHash('sha256').update(`mac/${id}`).digest();
  return ['06', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
