import { describe, expect, it } from 'vitest';
import { stableMac, vxlanName } from './names';
import { hostRuleset, hostTableName, ROUTER_TABLE, routerRuleset } from './nft';
import { validateHostNetworkSpec, type HostNetworkSpec } from './spec';

// One network on host tag 0a1 (transit slot 3: host 100.74.16.6, router 100.74.16.7),
// two NICs (taps ct0a1cf45d640f3 and ct0a1069874b4a8) and one forward, host port 20000 → web:22.
const spec: HostNetworkSpec = validateHostNetworkSpec({
  tag: '0a1',
  networks: [
    {
      id: '11111111-2222-4333-8444-555555555555',
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      slot: 3,
      nics: [
        { id: '66666666-7777-4888-9999-aaaaaaaaaaaa', mac: '02:11:22:33:44:55', ip: '10.0.0.2', hostname: 'web', aliases: ['i-0123456789abcdef0'], rateMbit: 100 },
        { id: '66666666-7777-4888-9999-bbbbbbbbbbbb', mac: '02:11:22:33:44:66', ip: '10.0.0.3', hostname: 'db', aliases: [], rateMbit: 50 },
      ],
      forwards: [{ hostPort: 20000, ip: '10.0.0.2', guestPort: 22 }],
    },
  ],
});

const HOST_GOLDEN = `table ip cirrus_0a1 {}
delete table ip cirrus_0a1
table ip cirrus_0a1 {
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
    iifname "cb0a1*" notrack
  }
  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local tcp dport 20000 dnat to 100.74.16.7:20000
  }
  chain nat_output {
    type nat hook output priority -100; policy accept;
    fib daddr type local tcp dport 20000 dnat to 100.74.16.7:20000
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "cr0a1*" ip saddr 127.0.0.0/8 masquerade
    oifname != "cr0a1*" oifname != "cb0a1*" ip saddr 100.74.16.0/20 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "cr0a1*" oifname "cr*" drop
    iifname "cb0a1*" oifname != "cb0a1*" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "cr0a1*" ct state established,related accept
    iifname "cr0a1*" drop
    iifname "cb0a1*" drop
  }
}
table bridge cirrus_0a1 {}
delete table bridge cirrus_0a1
table bridge cirrus_0a1 {
  chain prerouting {
    type filter hook prerouting priority -200; policy accept;
    iifname "ct0a1cf45d640f3" jump from_ct0a1cf45d640f3
    iifname "ct0a1069874b4a8" jump from_ct0a1069874b4a8
    iifname "ct0a1*" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "ct0a1*" drop
    iifname "cg0a1*" drop
  }
  chain from_ct0a1cf45d640f3 {
    ether saddr != 02:11:22:33:44:55 drop
    ether type arp arp saddr ether != 02:11:22:33:44:55 drop
    ether type arp arp saddr ip != { 0.0.0.0, 10.0.0.2 } drop
    ether type arp accept
    ether type ip udp sport 67 drop
    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept
    ether type ip ip saddr != 10.0.0.2 drop
    ether type ip accept
    drop
  }
  chain from_ct0a1069874b4a8 {
    ether saddr != 02:11:22:33:44:66 drop
    ether type arp arp saddr ether != 02:11:22:33:44:66 drop
    ether type arp arp saddr ip != { 0.0.0.0, 10.0.0.3 } drop
    ether type arp accept
    ether type ip udp sport 67 drop
    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept
    ether type ip ip saddr != 10.0.0.3 drop
    ether type ip accept
    drop
  }
}
`;

const ROUTER_GOLDEN = `table ip cirrus {}
delete table ip cirrus
table ip cirrus {
  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "up0" tcp dport 20000 dnat to 10.0.0.2:22
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "up0" ip saddr 10.0.0.0/24 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "gw0" oifname "up0" ip saddr 10.0.0.0/24 accept
    iifname "up0" oifname "gw0" ct status dnat accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "gw0" udp dport { 53, 67 } accept
    iifname "gw0" tcp dport 53 accept
    iifname "gw0" icmp type echo-request accept
  }
}
`;

describe('host ruleset', () => {
  it('is exactly the golden text for a small spec', () => {
    expect(hostTableName('0a1')).toBe('cirrus_0a1');
    expect(hostRuleset(spec)).toBe(HOST_GOLDEN);
  });

  it('with no networks still declares, flushes and re-declares both tables; unknown taps send nothing and no tap or router port reaches the host', () => {
    expect(hostRuleset({ tag: '3ff', networks: [] })).toBe(`table ip cirrus_3ff {}
delete table ip cirrus_3ff
table ip cirrus_3ff {
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
    iifname "cb3ff*" notrack
  }
  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
  }
  chain nat_output {
    type nat hook output priority -100; policy accept;
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "cr3ff*" ip saddr 127.0.0.0/8 masquerade
    oifname != "cr3ff*" oifname != "cb3ff*" ip saddr 100.127.240.0/20 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "cr3ff*" oifname "cr*" drop
    iifname "cb3ff*" oifname != "cb3ff*" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "cr3ff*" ct state established,related accept
    iifname "cr3ff*" drop
    iifname "cb3ff*" drop
  }
}
table bridge cirrus_3ff {}
delete table bridge cirrus_3ff
table bridge cirrus_3ff {
  chain prerouting {
    type filter hook prerouting priority -200; policy accept;
    iifname "ct3ff*" drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "ct3ff*" drop
    iifname "cg3ff*" drop
  }
}
`);
  });

  it('sends each forward to the router of its own network (by transit slot)', () => {
    const two = structuredClone(spec);
    two.networks.push({
      id: '11111111-2222-4333-8444-666666666666',
      cidr: '192.168.8.0/28',
      gateway: '192.168.8.1',
      slot: 0,
      nics: [{ id: '66666666-7777-4888-9999-cccccccccccc', mac: '0e:00:00:00:00:01', ip: '192.168.8.2', hostname: 'x', aliases: [], rateMbit: 1 }],
      forwards: [{ hostPort: 20001, ip: '192.168.8.2', guestPort: 80 }],
    });
    const rules = hostRuleset(validateHostNetworkSpec(two));
    const dnat = rules.split('\n').filter((l) => l.includes('dnat'));
    expect(dnat).toEqual([
      '    fib daddr type local tcp dport 20000 dnat to 100.74.16.7:20000',
      '    fib daddr type local tcp dport 20001 dnat to 100.74.16.1:20001',
      '    fib daddr type local tcp dport 20000 dnat to 100.74.16.7:20000',
      '    fib daddr type local tcp dport 20001 dnat to 100.74.16.1:20001',
    ]);
    expect(rules.match(/^    iifname "ct0a1[0-9a-f]{10}" jump /gm)).toHaveLength(3);
  });
});

describe('a network across hosts', () => {
  it('keeps its router to this host: nothing from the gateway MAC leaves through the VXLAN port, and nothing from it reaches the host', () => {
    const n = { ...spec.networks[0]!, vxlan: { vni: 4096, local: '10.231.1.11', peers: ['10.231.1.12'] } };
    const rules = hostRuleset(validateHostNetworkSpec({ tag: '0a1', networks: [n] }));
    expect(rules).toContain(`    oifname "${vxlanName('0a1', n.id)}" ether saddr ${stableMac(`${n.id}/gw`)} drop\n`);
    expect(rules).toContain('    iifname "cx0a1*" drop\n');
    // A host with no network across hosts keeps its golden rules.
    expect(hostRuleset(spec)).not.toContain('cx0a1');
  });
});

describe('router ruleset', () => {
  it('is exactly the golden text for the network', () => {
    expect(ROUTER_TABLE).toBe('cirrus');
    expect(routerRuleset(spec.networks[0]!)).toBe(ROUTER_GOLDEN);
  });

  it('without forwards has an empty DNAT chain and still masquerades the network', () => {
    const n = { ...spec.networks[0]!, cidr: '172.16.32.0/20', forwards: [] };
    const rules = routerRuleset(n);
    expect(rules).toContain('  chain nat_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n  }\n');
    expect(rules).toContain('    oifname "up0" ip saddr 172.16.32.0/20 masquerade\n');
    expect(rules).toContain('    iifname "gw0" oifname "up0" ip saddr 172.16.32.0/20 accept\n');
  });
});
