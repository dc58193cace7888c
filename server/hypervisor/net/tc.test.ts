import { describe, expect, it } from 'vitest';
import { ifbName, tapName } from './names';
import { burstBytes, ingressArgs, parseQdiscs, redirectArgs, shapeArgs } from './tc';

const NIC = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const tap = tapName('0a1', NIC); // ct0a1cf45d640f3
const ifb = ifbName('0a1', NIC); // ci0a1cf45d640f3

describe('tc argv', () => {
  it('a bucket holds 20 ms at the rate, at least 16 KiB', () => {
    expect(burstBytes(1)).toBe(16_384);
    expect(burstBytes(6)).toBe(16_384); // 15,000 bytes would be less than a few frames
    expect(burstBytes(7)).toBe(17_500);
    expect(burstBytes(100)).toBe(250_000);
    expect(burstBytes(10_000)).toBe(25_000_000);
  });

  it('shapes towards the guest with a tbf at the tap’s root', () => {
    expect(tap).toBe('ct0a1cf45d640f3');
    expect(shapeArgs(tap, 100)).toEqual(['qdisc', 'replace', 'dev', 'ct0a1cf45d640f3', 'root', 'tbf', 'rate', '100mbit', 'burst', '250000', 'latency', '50ms']);
    expect(shapeArgs(ifb, 1)).toEqual(['qdisc', 'replace', 'dev', 'ci0a1cf45d640f3', 'root', 'tbf', 'rate', '1mbit', 'burst', '16384', 'latency', '50ms']);
  });

  it('redirects the tap’s ingress to its IFB', () => {
    expect(ingressArgs(tap)).toEqual(['qdisc', 'replace', 'dev', 'ct0a1cf45d640f3', 'handle', 'ffff:', 'ingress']);
    expect(redirectArgs(tap, ifb)).toEqual([
      'filter', 'replace', 'dev', 'ct0a1cf45d640f3', 'parent', 'ffff:', 'protocol', 'all', 'prio', '1', 'handle', '800::800',
      'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', 'ci0a1cf45d640f3',
    ]);
  });
});

describe('parseQdiscs', () => {
  // As `tc -j qdisc show` prints it: tbf rates in bytes per second.
  const shown = JSON.stringify([
    { kind: 'noqueue', handle: '0:', dev: 'lo', root: true, refcnt: 2, options: {} },
    { kind: 'tbf', handle: '8001:', dev: 'ct0a1cf45d640f3', root: true, refcnt: 2, options: { rate: 12_500_000, burst: 250_000, lat: 50_000 } },
    { kind: 'ingress', handle: 'ffff:', dev: 'ct0a1cf45d640f3', parent: 'ffff:fff1', options: {} },
    { kind: 'tbf', handle: '8002:', dev: 'ci0a1cf45d640f3', root: true, refcnt: 2, options: { rate: 125_000 } },
    { kind: 'tbf', handle: '10:', dev: 'ct0a1069874b4a8', parent: '1:1', options: { rate: 1_000 } },
    { kind: 'tbf', handle: '8003:', dev: 'ct0a1aaaaaaaaaa', root: true, options: {} },
    { kind: 'fq_codel', handle: '0:', dev: 'eth0', root: true, options: { limit: 10240 } },
    { kind: 'tbf', root: true, options: { rate: 99 } },
  ]);

  it('reads each device’s root tbf rate in bits per second and whether it has an ingress qdisc', () => {
    const q = parseQdiscs(shown);
    expect(Object.fromEntries(q)).toEqual({
      lo: { rootRateBps: null, hasIngress: false },
      ct0a1cf45d640f3: { rootRateBps: 100_000_000, hasIngress: true },
      ci0a1cf45d640f3: { rootRateBps: 1_000_000, hasIngress: false },
      ct0a1069874b4a8: { rootRateBps: null, hasIngress: false }, // a tbf that is not the root does not count
      ct0a1aaaaaaaaaa: { rootRateBps: null, hasIngress: false }, // a root tbf without a rate
      eth0: { rootRateBps: null, hasIngress: false },
    });
  });

  it('anything but a JSON list is no qdiscs', () => {
    for (const junk of ['', 'not json', '{"kind":"tbf"}', 'null', '42', '[1, "x", null]']) expect(parseQdiscs(junk).size, junk).toBe(0);
  });
});
