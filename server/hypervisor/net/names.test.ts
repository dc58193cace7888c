import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ip4 } from './ipv4';
import {
  bridgeName,
  HOST_TAG_PATTERN,
  hostTag,
  ifbName,
  INTERFACE_PATTERN,
  NAMESPACE_PATTERN,
  prefixOf,
  routerNamespace,
  routerPortName,
  stableMac,
  tapName,
  tapOfIfb,
  TRANSIT_SLOTS,
  transitBlock,
  transitName,
  transitPair,
} from './names';
import { MAC_PATTERN } from './spec';

const NET = '11111111-2222-4333-8444-555555555555';
const NIC = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const makers = { b: bridgeName, g: routerPortName, r: transitName, t: tapName, i: ifbName } as const;

describe('host tag', () => {
  it('is three hex digits from 000 to 3ff, stable for a host id', () => {
    expect(hostTag('h1')).toBe('2ad');
    expect(hostTag('00000000-0000-4000-8000-000000000000')).toBe('2d9');
    const tags = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = crypto.randomUUID();
      const tag = hostTag(id);
      expect(tag).toMatch(HOST_TAG_PATTERN);
      expect(parseInt(tag, 16)).toBeLessThan(1024);
      expect(hostTag(id)).toBe(tag);
      tags.add(tag);
    }
    expect(tags.size).toBeGreaterThan(800); // 10 bits, spread (2000 draws from 1024 values)
  });
});

describe('interface names', () => {
  it('are exact, derived from the kind, the tag and the object id', () => {
    expect(bridgeName('0a1', NET)).toBe('cb0a1cf4c4732fd');
    expect(routerPortName('0a1', NET)).toBe('cg0a1cf4c4732fd');
    expect(transitName('0a1', NET)).toBe('cr0a1cf4c4732fd');
    expect(tapName('0a1', NIC)).toBe('ct0a1cf45d640f3');
    expect(ifbName('0a1', NIC)).toBe('ci0a1cf45d640f3');
  });

  it('never exceed 15 characters and only use [a-z0-9], whatever the id (hostile ids included)', () => {
    const ids = [
      NET,
      '',
      'x'.repeat(10_000),
      'eth0; ip link del dev eth0',
      '$(reboot)',
      '"quoted" name\nwith a newline',
      '../../etc/passwd',
      'ünïcødé 🎉',
      ...Array.from({ length: 200 }, () => crypto.randomUUID()),
    ];
    for (const tag of ['000', '3ff', '0a1', hostTag('some host')]) {
      for (const id of ids) {
        for (const [kind, make] of Object.entries(makers)) {
          const name = make(tag, id);
          expect(name.length).toBeLessThanOrEqual(15);
          expect(name).toMatch(INTERFACE_PATTERN);
          expect(name.startsWith(prefixOf(kind as keyof typeof makers, tag))).toBe(true);
        }
      }
    }
  });

  it('differ between objects, kinds and hosts, and stay the same across calls', () => {
    const names = new Set<string>();
    for (let i = 0; i < 500; i++) names.add(tapName('0a1', crypto.randomUUID()));
    expect(names.size).toBe(500);
    expect(tapName('0a1', NIC)).toBe(tapName('0a1', NIC));
    expect(tapName('0a2', NIC)).not.toBe(tapName('0a1', NIC));
    expect(new Set(Object.values(makers).map((make) => make('0a1', NET))).size).toBe(5);
  });

  it.each(['400', 'fff', 'a00', '0A1', '00', '0000', '', '0g0', '0a1\n', ' 0a1', '0a1"; flush ruleset'])('refuses the host tag %j', (tag) => {
    for (const make of Object.values(makers)) expect(() => make(tag, NET)).toThrow(`bad host tag ${JSON.stringify(tag)}`);
  });

  it('an IFB belongs to the tap with the same suffix', () => {
    expect(tapOfIfb(ifbName('0a1', NIC))).toBe(tapName('0a1', NIC));
    expect(prefixOf('t', '0a1')).toBe('ct0a1');
    expect(prefixOf('b', '3ff')).toBe('cb3ff');
  });
});

describe('router namespaces', () => {
  it('name the tag and the network and parse back', () => {
    const ns = routerNamespace('0a1', NET);
    expect(ns).toBe(`cirrus-0a1-${NET}`);
    const m = NAMESPACE_PATTERN.exec(ns);
    expect(m?.[1]).toBe('0a1');
    expect(m?.[2]).toBe(NET);
    expect(NAMESPACE_PATTERN.test('cirrus-0a1-../../etc')).toBe(false);
    expect(NAMESPACE_PATTERN.test(`cirrus-4a1-${NET}`)).toBe(false);
  });
});

describe('transit addressing', () => {
  it('gives each host tag its own /20 of 100.64.0.0/10', () => {
    expect(transitBlock('000')).toBe('100.64.0.0/20');
    expect(transitBlock('001')).toBe('100.64.16.0/20');
    expect(transitBlock('0a1')).toBe('100.74.16.0/20');
    expect(transitBlock('3ff')).toBe('100.127.240.0/20');
  });

  it('cuts a block into 2,048 /31 pairs: the host even, the router odd', () => {
    expect(TRANSIT_SLOTS).toBe(2048);
    expect(transitPair('000', 0)).toEqual({ host: '100.64.0.0', router: '100.64.0.1' });
    expect(transitPair('0a1', 3)).toEqual({ host: '100.74.16.6', router: '100.74.16.7' });
    expect(transitPair('000', 2047)).toEqual({ host: '100.64.15.254', router: '100.64.15.255' });
    expect(transitPair('3ff', 2047)).toEqual({ host: '100.127.255.254', router: '100.127.255.255' });
    const base = ip4('100.74.16.0');
    const seen = new Set<string>();
    for (let slot = 0; slot < TRANSIT_SLOTS; slot++) {
      const { host, router } = transitPair('0a1', slot);
      expect(ip4(host) % 2).toBe(0);
      expect(ip4(router)).toBe(ip4(host) + 1);
      expect(ip4(host) - base).toBe(slot * 2);
      seen.add(host).add(router);
    }
    expect(seen.size).toBe(4096);
  });

  it.each([-1, 2048, 1.5, Number.NaN, Infinity])('refuses slot %s', (slot) => {
    expect(() => transitPair('000', slot)).toThrow(`bad transit slot ${slot}`);
  });
});

describe('stable MACs', () => {
  it('are locally administered unicast, lower case and stable', () => {
    expect(stableMac('x')).toBe('06:0a:f1:56:5d:ac');
    expect(stableMac(NET)).toBe(stableMac(NET));
    expect(stableMac(NET)).not.toBe(stableMac(NIC));
    for (let i = 0; i < 200; i++) {
      const mac = stableMac(crypto.randomUUID());
      expect(mac).toMatch(MAC_PATTERN);
      expect(mac.startsWith('06:')).toBe(true);
    }
  });
});
