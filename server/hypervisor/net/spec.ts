// What one host's network should look like, as plain data: the networks it
// realises, the NICs of its guests and the port forwards into them. The domain
// derives it from the database (server/network/host-spec.ts); HostNetwork makes
// the kernel match it. Everything is validated here before it can become an
// argument, a file or a ruleset.
import { contains, formatCidr, formatIp4, ip4, parseCidr } from './ipv4';
import { HOST_TAG_PATTERN, TRANSIT_SLOTS } from './names';

export interface HostNetworkSpec {
  /** The host's tag (names.ts); every name and address below is derived from it. */
  tag: string;
  networks: NetworkSpec[];
}

export interface NetworkSpec {
  id: string;
  /** e.g. "10.0.0.0/24" */
  cidr: string;
  /** The router's address inside the network (its first usable one). */
  gateway: string;
  /** The transit slot of this network on this host (names.transitPair). */
  slot: number;
  /** Every live NIC of the network on this host: DHCP reservation, DNS name, anti-spoofing rule and rate. */
  nics: NicPlumbing[];
  forwards: ForwardSpec[];
  /**
   * The network spans hosts: its bridge here joins the others' over VXLAN
   * (`vni`: the network's id there), from this host's underlay address `local`
   * to each host in `peers` that has it too (each gets a copy of broadcasts).
   * Absent: the network is on this host alone.
   */
  vxlan?: VxlanSpec;
}

export interface VxlanSpec {
  vni: number;
  local: string;
  peers: string[];
  /** The network's NICs on the other hosts, for DNS: a guest finds another by its instance's name wherever it runs. */
  names?: { ip: string; hostname: string; aliases: string[] }[];
}

export interface NicPlumbing {
  id: string;
  mac: string;
  ip: string;
  /** DNS label of the instance (also sent as its DHCP host name). */
  hostname: string;
  /** More DNS labels for the same address (the instance id). */
  aliases: string[];
  rateMbit: number;
}

export interface ForwardSpec {
  hostPort: number;
  ip: string;
  guestPort: number;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Locally administered unicast, lower case. */
export const MAC_PATTERN = /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/;
export const DNS_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_RATE_MBIT = 100_000;

/** An instance name as a DNS label: lower case, anything else a dash; `fallback` when nothing is left. */
export function dnsLabel(name: string, fallback: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return DNS_LABEL_PATTERN.test(label) ? label : fallback;
}

function fail(what: string): never {
  throw new Error(`invalid host network spec: ${what}`);
}

const port = (p: unknown) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65_535;

/** Throws unless every value is safe to put into an argv, a file or a ruleset. */
export function validateHostNetworkSpec(spec: HostNetworkSpec): HostNetworkSpec {
  if (!HOST_TAG_PATTERN.test(spec.tag)) fail(`tag ${JSON.stringify(spec.tag)}`);
  const slots = new Set<number>();
  const ids = new Set<string>();
  const hostPorts = new Set<number>();
  for (const n of spec.networks) {
    if (!UUID_PATTERN.test(n.id) || ids.has(n.id)) fail(`network id ${JSON.stringify(n.id)}`);
    ids.add(n.id);
    let cidr;
    try {
      cidr = parseCidr(n.cidr);
    } catch {
      fail(`cidr ${JSON.stringify(n.cidr)}`);
    }
    if (formatCidr(cidr) !== n.cidr || cidr.prefix < 16 || cidr.prefix > 28) fail(`cidr ${n.cidr}`);
    const inside = (ip: string) => {
      try {
        // Canonical text only: ip4 trims, and a newline kept in the text would split a ruleset line or a hosts-file line.
        return formatIp4(ip4(ip)) === ip && contains(cidr, { network: ip4(ip), prefix: 32 });
      } catch {
        return false;
      }
    };
    // The network's own and broadcast addresses are nobody's.
    const reserved = new Set([formatIp4(cidr.network), formatIp4(cidr.network + 2 ** (32 - cidr.prefix) - 1)]);
    if (!inside(n.gateway) || reserved.has(n.gateway)) fail(`gateway ${JSON.stringify(n.gateway)} of ${n.cidr}`);
    if (!Number.isInteger(n.slot) || n.slot < 0 || n.slot >= TRANSIT_SLOTS || slots.has(n.slot)) fail(`slot ${n.slot}`);
    slots.add(n.slot);
    const macs = new Set<string>();
    const ips = new Set<string>([n.gateway]);
    for (const nic of n.nics) {
      if (!UUID_PATTERN.test(nic.id) || ids.has(nic.id)) fail(`nic id ${JSON.stringify(nic.id)}`);
      ids.add(nic.id);
      if (!MAC_PATTERN.test(nic.mac) || macs.has(nic.mac)) fail(`mac ${JSON.stringify(nic.mac)}`);
      macs.add(nic.mac);
      if (!inside(nic.ip) || ips.has(nic.ip) || reserved.has(nic.ip)) fail(`address ${JSON.stringify(nic.ip)} in ${n.cidr}`);
      ips.add(nic.ip);
      for (const l of [nic.hostname, ...nic.aliases]) if (!DNS_LABEL_PATTERN.test(l)) fail(`dns label ${JSON.stringify(l)}`);
      if (!Number.isInteger(nic.rateMbit) || nic.rateMbit < 1 || nic.rateMbit > MAX_RATE_MBIT) fail(`rate ${nic.rateMbit}`);
    }
    if (n.vxlan) {
      const { vni, local, peers } = n.vxlan;
      if (!Number.isInteger(vni) || vni < 1 || vni > 16_777_215) fail(`vxlan id ${vni}`);
      const unicast = (ip: unknown) => {
        try {
          return typeof ip === 'string' && formatIp4(ip4(ip)) === ip && !/^(0|127|22[4-9]|2[3-5]\d)\./.test(ip);
        } catch {
          return false;
        }
      };
      if (!unicast(local)) fail(`vxlan local address ${JSON.stringify(local)}`);
      if (!Array.isArray(peers) || peers.length > 1024 || new Set(peers).size !== peers.length || peers.some((p) => !unicast(p) || p === local)) fail(`vxlan peers ${JSON.stringify(peers)}`);
      for (const r of n.vxlan.names ?? []) {
        if (!inside(r.ip) || ips.has(r.ip) || reserved.has(r.ip)) fail(`address ${JSON.stringify(r.ip)} in ${n.cidr}`);
        ips.add(r.ip);
        for (const l of [r.hostname, ...r.aliases]) if (!DNS_LABEL_PATTERN.test(l)) fail(`dns label ${JSON.stringify(l)}`);
      }
    }
    for (const f of n.forwards) {
      if (!port(f.hostPort) || !port(f.guestPort) || hostPorts.has(f.hostPort)) fail(`port forward ${JSON.stringify(f)}`);
      if (!n.nics.some((nic) => nic.ip === f.ip)) fail(`port forward to ${JSON.stringify(f.ip)}, not a NIC of ${n.cidr}`);
      hostPorts.add(f.hostPort);
    }
  }
  return spec;
}
