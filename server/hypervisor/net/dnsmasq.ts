// One dnsmasq per network per host, inside the network's router namespace:
// DHCP hands each NIC's MAC its IPAM address (static reservations only, so a
// stranger gets nothing) and DNS answers the network's instance names.
// Pure: argv and file contents from a validated spec.
import path from 'node:path';
import { formatIp4, ip4, maskOf, parseCidr } from './ipv4';
import { ROUTER_LAN } from './names';
import type { NetworkSpec } from './spec';

export const DNS_DOMAIN = 'cirrus.internal';
export const LEASE_SECONDS = 3600;

export interface DnsmasqFiles {
  dir: string;
  pidFile: string;
  dhcpHosts: string;
  dnsHosts: string;
  leases: string;
  log: string;
}

export function dnsmasqFiles(dir: string): DnsmasqFiles {
  return {
    dir,
    pidFile: path.join(dir, 'dnsmasq.pid'),
    dhcpHosts: path.join(dir, 'dhcp-hosts'),
    dnsHosts: path.join(dir, 'hosts'),
    leases: path.join(dir, 'leases'),
    log: path.join(dir, 'dnsmasq.log'),
  };
}

/** `upstream`: name servers the router may forward other names to (the host's, when reachable from a router). */
export function dnsmasqArgs(n: NetworkSpec, files: DnsmasqFiles, upstream: string[]): string[] {
  const cidr = parseCidr(n.cidr);
  return [
    '--conf-file=/dev/null',
    `--pid-file=${files.pidFile}`,
    `--interface=${ROUTER_LAN}`,
    '--bind-interfaces',
    '--except-interface=lo',
    `--listen-address=${n.gateway}`,
    `--dhcp-range=${formatIp4(cidr.network)},static,${formatIp4(maskOf(cidr.prefix))},${LEASE_SECONDS}s`,
    `--dhcp-hostsfile=${files.dhcpHosts}`,
    `--addn-hosts=${files.dnsHosts}`,
    `--dhcp-leasefile=${files.leases}`,
    `--dhcp-option=option:router,${n.gateway}`,
    `--dhcp-option=option:dns-server,${n.gateway}`,
    `--domain=${DNS_DOMAIN}`,
    `--local=/${DNS_DOMAIN}/`,
    '--expand-hosts',
    '--dhcp-authoritative',
    '--no-hosts',
    '--no-resolv',
    '--no-poll',
    ...upstream.map((s) => `--server=${s}`),
    `--log-facility=${files.log}`,
  ];
}

/** dhcp-hostsfile: `mac,address,hostname` per NIC (re-read on SIGHUP). */
export function dhcpHostsFile(n: NetworkSpec): string {
  return n.nics.map((nic) => `${nic.mac},${nic.ip},${nic.hostname}\n`).join('');
}

/** addn-hosts: every NIC's address under its instance's names (re-read on SIGHUP). */
export function dnsHostsFile(n: NetworkSpec): string {
  // The network's NICs on its other hosts have names here too (their addresses come from their own host's DHCP).
  return [...n.nics, ...(n.vxlan?.names ?? [])].map((nic) => `${nic.ip} ${[nic.hostname, ...nic.aliases].join(' ')}\n`).join('');
}

/** The MACs a lease file still holds (`expiry mac ip name clientid` per line). */
export function leasedMacs(leases: string): string[] {
  return leases
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m));
}

/** The lease file without the leases of MACs that are no longer reserved. */
export function pruneLeases(leases: string, keep: Set<string>): string {
  return leases
    .split('\n')
    .filter((l) => l.trim() !== '' && keep.has(l.split(' ')[1] ?? ''))
    .map((l) => `${l}\n`)
    .join('');
}

/** The host's name servers a router can reach: not loopback (the router has its own). */
export function upstreamServers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (!m || m[1]!.startsWith('127.') || out.includes(m[1]!)) continue;
    // Only real addresses: one dnsmasq refuses to start on reaches no guest.
    try {
      if (formatIp4(ip4(m[1]!)) === m[1]) out.push(m[1]!);
    } catch {
      // 999.1.1.1 and friends
    }
  }
  return out.slice(0, 3);
}
