// What the kernel has now, read in a few commands: the host's links (with
// their kind and bridge), router namespaces, and each tap's qdiscs.
import { readFileSync } from 'node:fs';
import type { Runner } from './exec';
import { parseQdiscs, type QdiscState } from './tc';

export interface LinkInfo {
  name: string;
  kind: string | null;
  master: string | null;
  up: boolean;
  /** A VXLAN device's network id, local address and MTU. */
  vxlan?: { id: number; local: string | null; mtu: number };
}

export interface KernelState {
  links: Map<string, LinkInfo>;
  namespaces: Set<string>;
  qdiscs: Map<string, QdiscState>;
}

type IpLink = { ifname?: string; master?: string; flags?: string[]; mtu?: number; linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string } } };

export function parseLinks(json: string): Map<string, LinkInfo> {
  const out = new Map<string, LinkInfo>();
  const rows = JSON.parse(json || '[]') as IpLink[];
  for (const r of rows) {
    if (!r.ifname) continue;
    const info: LinkInfo = { name: r.ifname, kind: r.linkinfo?.info_kind ?? null, master: r.master ?? null, up: (r.flags ?? []).includes('UP') };
    if (info.kind === 'vxlan') info.vxlan = { id: r.linkinfo?.info_data?.id ?? 0, local: r.linkinfo?.info_data?.local ?? null, mtu: r.mtu ?? 0 };
    out.set(r.ifname, info);
  }
  return out;
}

export async function readKernelState(run: Runner): Promise<KernelState> {
  const [links, ns, qd] = await Promise.all([
    run('ip', ['-d', '-j', 'link', 'show']),
    run('ip', ['-j', 'netns', 'list']),
    run('tc', ['-j', 'qdisc', 'show']),
  ]);
  const names = (JSON.parse(ns.stdout.trim() || '[]') as { name?: string }[]).map((n) => n.name).filter((n): n is string => !!n);
  return { links: parseLinks(links.stdout), namespaces: new Set(names), qdiscs: parseQdiscs(qd.stdout) };
}

/** Inside a namespace: which interfaces exist and their IPv4 addresses (`a.b.c.d/p`). */
export async function readNamespaceAddresses(run: Runner, netns: string): Promise<Map<string, string[]>> {
  const { stdout } = await run('ip', ['-n', netns, '-j', 'addr', 'show']);
  const out = new Map<string, string[]>();
  for (const r of JSON.parse(stdout || '[]') as { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[]) {
    if (!r.ifname) continue;
    out.set(
      r.ifname,
      (r.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    );
  }
  return out;
}

/**
 * Bytes through a tap from the guest's point of view (a tap's rx is what the
 * guest sent), from sysfs; null when the tap is not there.
 */
export function tapGuestCounters(tap: string): { rxBytes: number; txBytes: number } | null {
  const dir = `/sys/class/net/${tap}/statistics`;
  try {
    return { rxBytes: Number(readFileSync(`${dir}/tx_bytes`, 'utf8')), txBytes: Number(readFileSync(`${dir}/rx_bytes`, 'utf8')) };
  } catch {
    return null;
  }
}
