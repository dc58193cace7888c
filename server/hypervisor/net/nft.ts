// nftables rulesets as text, from a validated spec (pure; golden-tested).
// Each ruleset replaces its own tables atomically (`nft -f`): declaring a
// table, deleting it and declaring it again in one transaction leaves no
// moment without rules and removes whatever an earlier version had.
import { formatCidr, parseCidr } from './ipv4';
import { prefixOf, ROUTER_LAN, ROUTER_UPLINK, stableMac, tapName, transitBlock, transitPair, vxlanName } from './names';
import type { HostNetworkSpec, NetworkSpec } from './spec';

export const hostTableName = (tag: string) => `cirrus_${tag}`;
export const ROUTER_TABLE = 'cirrus';

function replaceTable(family: 'ip' | 'bridge', name: string, body: string[]): string {
  return [`table ${family} ${name} {}`, `delete table ${family} ${name}`, `table ${family} ${name} {`, ...body.map((l) => `  ${l}`), '}'].join('\n');
}

/**
 * The host's tables. `ip`: port forwards reach the router of the guest's network
 * (which forwards them on), local clients of a forward are masqueraded onto the
 * transit link, routers' traffic leaves through the uplink masqueraded, no
 * forwarding between routers (networks), and neither routers nor bridges reach
 * the host or are routed by it.
 * `bridge`: each tap may send only from its own MAC and address (ARP and IPv4;
 * DHCP from 0.0.0.0), never as a DHCP server; unknown taps send nothing; no
 * frame from a tap or a router port is delivered to the host itself.
 */
export function hostRuleset(spec: HostNetworkSpec): string {
  const { tag } = spec;
  const transit = `${prefixOf('r', tag)}*`;
  const bridges = `${prefixOf('b', tag)}*`;
  const dnat: string[] = [];
  for (const n of spec.networks) {
    const { router } = transitPair(tag, n.slot);
    for (const f of n.forwards) dnat.push(`fib daddr type local tcp dport ${f.hostPort} dnat to ${router}:${f.hostPort}`);
  }
  const ip = replaceTable('ip', hostTableName(tag), [
    'chain raw_prerouting {',
    '  type filter hook prerouting priority raw; policy accept;',
    // br_netfilter hands bridged guest frames to the host's IP hooks: they are the routers' business.
    `  iifname "${bridges}" notrack`,
    '}',
    'chain nat_prerouting {',
    '  type nat hook prerouting priority dstnat; policy accept;',
    ...dnat.map((r) => `  ${r}`),
    '}',
    'chain nat_output {',
    '  type nat hook output priority -100; policy accept;',
    ...dnat.map((r) => `  ${r}`),
    '}',
    'chain nat_postrouting {',
    '  type nat hook postrouting priority srcnat; policy accept;',
    `  oifname "${transit}" ip saddr 127.0.0.0/8 masquerade`,
    `  oifname != "${transit}" oifname != "${bridges}" ip saddr ${transitBlock(tag)} masquerade`,
    '}',
    'chain forward {',
    '  type filter hook forward priority filter; policy accept;',
    `  iifname "${transit}" oifname "cr*" drop`,
    // Bridges carry guests' frames between themselves and their router; the host routes nothing out of them.
    `  iifname "${bridges}" oifname != "${bridges}" drop`,
    '}',
    'chain input {',
    '  type filter hook input priority filter; policy accept;',
    `  iifname "${transit}" ct state established,related accept`,
    `  iifname "${transit}" drop`,
    `  iifname "${bridges}" drop`,
    '}',
  ]);

  const taps: string[] = [];
  const chains: string[] = [];
  const spanning = spec.networks.filter((n) => n.vxlan);
  for (const n of spec.networks) {
    for (const nic of n.nics) {
      const tap = tapName(tag, nic.id);
      taps.push(`  iifname "${tap}" jump from_${tap}`);
      chains.push(
        `chain from_${tap} {`,
        `  ether saddr != ${nic.mac} drop`,
        `  ether type arp arp saddr ether != ${nic.mac} drop`,
        `  ether type arp arp saddr ip != { 0.0.0.0, ${nic.ip} } drop`,
        '  ether type arp accept',
        '  ether type ip udp sport 67 drop',
        '  ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept',
        `  ether type ip ip saddr != ${nic.ip} drop`,
        '  ether type ip accept',
        '  drop',
        '}',
      );
    }
  }
  const bridge = replaceTable('bridge', hostTableName(tag), [
    'chain prerouting {',
    '  type filter hook prerouting priority -200; policy accept;',
    ...taps,
    `  iifname "${prefixOf('t', tag)}*" drop`,
    '}',
    // Nothing from a guest or a router reaches the host's own stack through a bridge (no ARP answers, no services).
    'chain input {',
    '  type filter hook input priority filter; policy accept;',
    `  iifname "${prefixOf('t', tag)}*" drop`,
    `  iifname "${prefixOf('g', tag)}*" drop`,
    ...(spanning.length ? [`  iifname "${prefixOf('x', tag)}*" drop`] : []),
    '}',
    // A network on several hosts has a router on each, with one address and one MAC: each host's guests use
    // their own, so nothing the router sends (ARP answers, DHCP offers) crosses to the other hosts.
    ...(spanning.length
      ? ['chain forward {', '  type filter hook forward priority filter; policy accept;', ...spanning.map((n) => `  oifname "${vxlanName(tag, n.id)}" ether saddr ${stableMac(`${n.id}/gw`)} drop`), '}']
      : []),
    ...chains,
  ]);
  return `${ip}\n${bridge}\n`;
}

/**
 * A network's router (inside its namespace): forwarded host ports go to their
 * guests, guests reach the outside masqueraded as the router, nothing else is
 * forwarded, and the router itself answers only DHCP, DNS and ping from guests.
 */
export function routerRuleset(n: NetworkSpec): string {
  const cidr = formatCidr(parseCidr(n.cidr));
  return (
    replaceTable('ip', ROUTER_TABLE, [
      'chain nat_prerouting {',
      '  type nat hook prerouting priority dstnat; policy accept;',
      ...n.forwards.map((f) => `  iifname "${ROUTER_UPLINK}" tcp dport ${f.hostPort} dnat to ${f.ip}:${f.guestPort}`),
      '}',
      'chain nat_postrouting {',
      '  type nat hook postrouting priority srcnat; policy accept;',
      `  oifname "${ROUTER_UPLINK}" ip saddr ${cidr} masquerade`,
      '}',
      'chain forward {',
      '  type filter hook forward priority filter; policy drop;',
      '  ct state established,related accept',
      `  iifname "${ROUTER_LAN}" oifname "${ROUTER_UPLINK}" ip saddr ${cidr} accept`,
      `  iifname "${ROUTER_UPLINK}" oifname "${ROUTER_LAN}" ct status dnat accept`,
      '}',
      'chain input {',
      '  type filter hook input priority filter; policy drop;',
      '  ct state established,related accept',
      '  iifname "lo" accept',
      `  iifname "${ROUTER_LAN}" udp dport { 53, 67 } accept`,
      `  iifname "${ROUTER_LAN}" tcp dport 53 accept`,
      `  iifname "${ROUTER_LAN}" icmp type echo-request accept`,
      '}',
    ]) + '\n'
  );
}
