import { describe, expect, it } from 'vitest';
import { dnsLabel, MAX_RATE_MBIT, validateHostNetworkSpec, type HostNetworkSpec } from './spec';

const NET_A = '11111111-2222-4333-8444-555555555555';
const NET_B = '11111111-2222-4333-8444-666666666666';
const NIC_1 = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const NIC_2 = '66666666-7777-4888-9999-bbbbbbbbbbbb';
const NIC_3 = '66666666-7777-4888-9999-cccccccccccc';

/** Two networks, three NICs, two forwards: everything valid. */
function spec(): HostNetworkSpec {
  return {
    tag: '0a1',
    networks: [
      {
        id: NET_A,
        cidr: '10.0.0.0/24',
        gateway: '10.0.0.1',
        slot: 0,
        nics: [
          { id: NIC_1, mac: '02:11:22:33:44:55', ip: '10.0.0.2', hostname: 'web', aliases: ['i-0123456789abcdef0'], rateMbit: 100 },
          { id: NIC_2, mac: '02:11:22:33:44:66', ip: '10.0.0.3', hostname: 'db', aliases: [], rateMbit: MAX_RATE_MBIT },
        ],
        forwards: [{ hostPort: 20000, ip: '10.0.0.2', guestPort: 22 }],
      },
      {
        id: NET_B,
        cidr: '192.168.8.0/28',
        gateway: '192.168.8.1',
        slot: 2047,
        nics: [{ id: NIC_3, mac: '0e:00:00:00:00:01', ip: '192.168.8.2', hostname: 'x', aliases: [], rateMbit: 1 }],
        forwards: [{ hostPort: 65535, ip: '192.168.8.2', guestPort: 1 }],
      },
    ],
  };
}

type Spec = HostNetworkSpec;
type Mutation = (s: Spec) => void;
const netA = (s: Spec) => s.networks[0]!;
const nic1 = (s: Spec) => netA(s).nics[0]!;
const fwd = (s: Spec) => netA(s).forwards[0]!;
const anyway = <T>(v: unknown) => v as T;

/** Each: how it breaks the spec, and the words the refusal must contain. */
const hostile: [string, Mutation, string][] = [
  // Tags end up in every interface name, table name and nft wildcard.
  ['tag out of range', (s) => (s.tag = '400'), 'tag "400"'],
  // Nobody holds a network's own or broadcast address.
  ['a NIC on the network address', (s) => (nic1(s).ip = '10.0.0.0'), 'address "10.0.0.0"'],
  ['a NIC on the broadcast address', (s) => (nic1(s).ip = '10.0.0.255'), 'address "10.0.0.255"'],
  ['the gateway on the broadcast address', (s) => (netA(s).gateway = '10.0.0.255'), 'gateway "10.0.0.255"'],
  ['tag upper case', (s) => (s.tag = '0A1'), 'tag "0A1"'],
  ['tag with a quote', (s) => (s.tag = '0a1" drop'), 'tag "0a1\\" drop"'],
  ['tag with a newline', (s) => (s.tag = '0a1\n'), 'tag "0a1\\n"'],
  ['tag empty', (s) => (s.tag = ''), 'tag ""'],
  // Network ids name router namespaces and run directories.
  ['network id not a uuid', (s) => (netA(s).id = '../../etc'), 'network id "../../etc"'],
  ['network id upper case', (s) => (netA(s).id = 'AAAAAAAA-2222-4333-8444-555555555555'), 'network id "AAAAAAAA-2222-4333-8444-555555555555"'],
  ['network id with a newline', (s) => (netA(s).id = `${NET_A}\n`), 'network id'],
  ['network id twice', (s) => (s.networks[1]!.id = NET_A), `network id "${NET_A}"`],
  // CIDRs go into rulesets and dnsmasq's argv: canonical text only.
  ['cidr injecting a rule', (s) => (netA(s).cidr = '10.0.0.0/24 accept'), 'cidr "10.0.0.0/24 accept"'],
  ['cidr with surrounding space', (s) => (netA(s).cidr = ' 10.0.0.0/24'), 'cidr  10.0.0.0/24'],
  ['cidr with a trailing newline', (s) => (netA(s).cidr = '10.0.0.0/24\n'), 'cidr 10.0.0.0/24\n'],
  ['cidr with host bits', (s) => (netA(s).cidr = '10.0.0.1/24'), 'cidr "10.0.0.1/24"'],
  ['cidr too large', (s) => (netA(s).cidr = '10.0.0.0/8'), 'cidr 10.0.0.0/8'],
  ['cidr too small', (s) => (netA(s).cidr = '10.0.0.0/29'), 'cidr 10.0.0.0/29'],
  // Gateways become listen addresses and DHCP options.
  ['gateway outside the network', (s) => (netA(s).gateway = '10.0.1.1'), 'gateway "10.0.1.1" of 10.0.0.0/24'],
  ['gateway with an option appended', (s) => (netA(s).gateway = '10.0.0.1,8.8.8.8'), 'gateway "10.0.0.1,8.8.8.8"'],
  ['gateway with a trailing newline', (s) => (netA(s).gateway = '10.0.0.1\n'), 'gateway "10.0.0.1\\n"'],
  ['gateway with a leading space', (s) => (netA(s).gateway = ' 10.0.0.1'), 'gateway " 10.0.0.1"'],
  ['slot negative', (s) => (netA(s).slot = -1), 'slot -1'],
  ['slot past the block', (s) => (netA(s).slot = 2048), 'slot 2048'],
  ['slot fractional', (s) => (netA(s).slot = 0.5), 'slot 0.5'],
  ['slot twice', (s) => (s.networks[1]!.slot = 0), 'slot 0'],
  // NIC ids name taps and IFBs.
  ['nic id not a uuid', (s) => (nic1(s).id = 'tap0; ip link del eth0'), 'nic id "tap0; ip link del eth0"'],
  ['nic id equal to its network id', (s) => (nic1(s).id = NET_A), `nic id "${NET_A}"`],
  ['network id equal to a NIC id before it', (s) => (s.networks[1]!.id = NIC_1), `network id "${NIC_1}"`],
  ['nic id twice', (s) => (s.networks[1]!.nics[0]!.id = NIC_1), `nic id "${NIC_1}"`],
  // MACs go into the bridge ruleset and the DHCP hosts file.
  ['mac injecting a rule', (s) => (nic1(s).mac = '02:11:22:33:44:55 accept'), 'mac "02:11:22:33:44:55 accept"'],
  ['mac with a trailing newline', (s) => (nic1(s).mac = '02:11:22:33:44:55\n'), 'mac "02:11:22:33:44:55\\n"'],
  ['mac with a comma (a second DHCP field)', (s) => (nic1(s).mac = '02:11:22:33:44:55,10.0.0.9'), 'mac'],
  ['mac upper case', (s) => (nic1(s).mac = '02:AA:22:33:44:55'), 'mac "02:AA:22:33:44:55"'],
  ['mac multicast', (s) => (nic1(s).mac = '03:11:22:33:44:55'), 'mac "03:11:22:33:44:55"'],
  ['mac globally administered', (s) => (nic1(s).mac = '00:11:22:33:44:55'), 'mac "00:11:22:33:44:55"'],
  ['mac short', (s) => (nic1(s).mac = '02:11:22:33:44'), 'mac'],
  ['mac twice in a network', (s) => (netA(s).nics[1]!.mac = '02:11:22:33:44:55'), 'mac "02:11:22:33:44:55"'],
  // Addresses go into the bridge ruleset, the DHCP and DNS files and DNAT targets.
  ['address outside the network', (s) => (nic1(s).ip = '10.0.1.2'), 'address "10.0.1.2" in 10.0.0.0/24'],
  ['address closing a set', (s) => (nic1(s).ip = '10.0.0.2 } accept'), 'address "10.0.0.2 } accept"'],
  ['address with a trailing newline', (s) => (nic1(s).ip = '10.0.0.2\n'), 'address "10.0.0.2\\n"'],
  ['address with a trailing space', (s) => (nic1(s).ip = '10.0.0.2 '), 'address "10.0.0.2 "'],
  ['address with a tab', (s) => (nic1(s).ip = '\t10.0.0.2'), 'address "\\t10.0.0.2"'],
  ['address with leading zeros', (s) => (nic1(s).ip = '10.0.0.02'), 'address "10.0.0.02"'],
  ['address of the gateway', (s) => (nic1(s).ip = '10.0.0.1'), 'address "10.0.0.1"'],
  ['address twice', (s) => (netA(s).nics[1]!.ip = '10.0.0.2'), 'address "10.0.0.2"'],
  // Host names go into the DHCP hosts file (comma-separated) and the hosts file (space-separated).
  ['hostname with a comma', (s) => (nic1(s).hostname = 'web,10.0.0.9'), 'dns label "web,10.0.0.9"'],
  ['hostname with a newline', (s) => (nic1(s).hostname = 'web\n10.0.0.9 evil'), 'dns label'],
  ['hostname with a space', (s) => (nic1(s).hostname = 'web evil'), 'dns label "web evil"'],
  ['hostname with a semicolon', (s) => (nic1(s).hostname = 'web;reboot'), 'dns label "web;reboot"'],
  ['hostname upper case', (s) => (nic1(s).hostname = 'Web'), 'dns label "Web"'],
  ['hostname starting with a dash', (s) => (nic1(s).hostname = '-web'), 'dns label "-web"'],
  ['hostname empty', (s) => (nic1(s).hostname = ''), 'dns label ""'],
  ['hostname longer than 63', (s) => (nic1(s).hostname = 'a'.repeat(64)), 'dns label'],
  ['alias with a space', (s) => (nic1(s).aliases = ['ok', 'two words']), 'dns label "two words"'],
  ['alias with a dot', (s) => (nic1(s).aliases = ['web.evil.com']), 'dns label "web.evil.com"'],
  // Rates go into tc's argv.
  ['rate zero', (s) => (nic1(s).rateMbit = 0), 'rate 0'],
  ['rate past the maximum', (s) => (nic1(s).rateMbit = MAX_RATE_MBIT + 1), `rate ${MAX_RATE_MBIT + 1}`],
  ['rate fractional', (s) => (nic1(s).rateMbit = 1.5), 'rate 1.5'],
  ['rate not a number', (s) => (nic1(s).rateMbit = Number.NaN), 'rate NaN'],
  ['rate as text with a unit', (s) => (nic1(s).rateMbit = anyway<number>('100mbit burst 1')), 'rate 100mbit burst 1'],
  // Ports go into both rulesets.
  ['host port zero', (s) => (fwd(s).hostPort = 0), 'port forward'],
  ['host port past 65535', (s) => (fwd(s).hostPort = 65536), 'port forward'],
  ['host port fractional', (s) => (fwd(s).hostPort = 22.5), 'port forward'],
  ['host port as text with a rule', (s) => (fwd(s).hostPort = anyway<number>('22 accept')), 'port forward'],
  ['guest port zero', (s) => (fwd(s).guestPort = 0), 'port forward'],
  ['guest port as text with a rule', (s) => (fwd(s).guestPort = anyway<number>('22; flush ruleset')), 'port forward'],
  ['host port twice on the host (two networks)', (s) => (s.networks[1]!.forwards[0]!.hostPort = 20000), 'port forward'],
  ['forward to an address that is no NIC', (s) => (fwd(s).ip = '10.0.0.99'), 'port forward to "10.0.0.99", not a NIC of 10.0.0.0/24'],
  ['forward to a NIC of another network', (s) => (fwd(s).ip = '192.168.8.2'), 'port forward to "192.168.8.2", not a NIC of 10.0.0.0/24'],
  ['forward with an injected address', (s) => (fwd(s).ip = '10.0.0.2:22 accept'), 'port forward to'],
  // A network across hosts: its VXLAN id and addresses go into ip's argv.
  ['vxlan id zero', (s) => (netA(s).vxlan = { vni: 0, local: '10.231.1.11', peers: [] }), 'vxlan id 0'],
  ['vxlan id past 24 bits', (s) => (netA(s).vxlan = { vni: 2 ** 24, local: '10.231.1.11', peers: [] }), 'vxlan id'],
  ['vxlan local address as text with an option', (s) => (netA(s).vxlan = { vni: 4096, local: '10.231.1.11 dev eth0', peers: [] }), 'vxlan local address'],
  ['vxlan local loopback', (s) => (netA(s).vxlan = { vni: 4096, local: '127.0.0.1', peers: [] }), 'vxlan local address'],
  ['vxlan peer multicast', (s) => (netA(s).vxlan = { vni: 4096, local: '10.231.1.11', peers: ['239.1.1.1'] }), 'vxlan peers'],
  ['vxlan peer twice', (s) => (netA(s).vxlan = { vni: 4096, local: '10.231.1.11', peers: ['10.231.1.12', '10.231.1.12'] }), 'vxlan peers'],
  ['vxlan peer is the host itself', (s) => (netA(s).vxlan = { vni: 4096, local: '10.231.1.11', peers: ['10.231.1.11'] }), 'vxlan peers'],
];

describe('validateHostNetworkSpec', () => {
  it('accepts a valid spec and returns it as it is', () => {
    const s = spec();
    expect(validateHostNetworkSpec(s)).toBe(s);
    expect(s).toEqual(spec());
    expect(validateHostNetworkSpec({ tag: '000', networks: [] })).toEqual({ tag: '000', networks: [] });
  });

  it('accepts the bounds: rate 1 and the maximum, ports 1 and 65535, /16 and /28, slots 0 and 2047', () => {
    const s = spec();
    s.networks[0]!.cidr = '10.0.0.0/16';
    s.networks[0]!.forwards.push({ hostPort: 1, ip: '10.0.0.3', guestPort: 65535 });
    expect(() => validateHostNetworkSpec(s)).not.toThrow();
  });

  it.each(hostile)('refuses %s', (_what, mutate, words) => {
    const s = spec();
    mutate(s);
    expect(() => validateHostNetworkSpec(s)).toThrow('invalid host network spec: ');
    expect(() => validateHostNetworkSpec(s)).toThrow(words);
  });
});

describe('dnsLabel', () => {
  it('turns an instance name into a DNS label', () => {
    expect(dnsLabel('web', 'i-1')).toBe('web');
    expect(dnsLabel('Web Server 1', 'i-1')).toBe('web-server-1');
    expect(dnsLabel('db.primary_2', 'i-1')).toBe('db-primary-2');
    expect(dnsLabel('--edge--', 'i-1')).toBe('edge');
    expect(dnsLabel('a  ;  b', 'i-1')).toBe('a-b');
    expect(dnsLabel('Über', 'i-1')).toBe('ber');
    expect(dnsLabel('web\n10.0.0.9 evil,host', 'i-1')).toBe('web-10-0-0-9-evil-host');
  });

  it('cuts at 63 characters without leaving a dash at the end', () => {
    expect(dnsLabel('a'.repeat(70), 'i-1')).toBe('a'.repeat(63));
    expect(dnsLabel(`${'a'.repeat(62)} b`, 'i-1')).toBe('a'.repeat(62));
  });

  it('falls back when nothing is left', () => {
    expect(dnsLabel('', 'i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
    expect(dnsLabel('___', 'i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
    expect(dnsLabel('日本語', 'fallback')).toBe('fallback');
  });
});
