import { describe, expect, it } from 'vitest';
import { contains, formatIp4, ip4, maskOf, overlaps, parseCidr, sizeOf } from '../hypervisor/net/ipv4';
import { formatCidr, gatewayOf, PREFIX_RANGE, proposeCidr, usableAddresses, whyNotTenantCidr } from './cidr';
import { cidrSchema } from './validation';

const c = (text: string) => parseCidr(text);

describe('ipv4 arithmetic', () => {
  it('reads dotted quads as unsigned 32-bit numbers and writes them back', () => {
    expect(ip4('0.0.0.0')).toBe(0);
    expect(ip4('10.0.0.1')).toBe(0x0a000001);
    expect(ip4('192.168.1.254')).toBe(0xc0a801fe);
    expect(ip4('255.255.255.255')).toBe(0xffffffff);
    for (const text of ['0.0.0.0', '10.0.0.1', '172.31.255.255', '255.255.255.255', '128.0.0.0']) expect(formatIp4(ip4(text))).toBe(text);
  });

  it.each(['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.-1', 'a.b.c.d', '', '1.2.3.4/32', '0x1.2.3.4'])('refuses %j as an address', (text) => {
    expect(() => ip4(text)).toThrow(`not an IPv4 address: ${text}`);
  });

  it('masks and sizes', () => {
    expect(maskOf(0)).toBe(0);
    expect(maskOf(8)).toBe(0xff000000);
    expect(maskOf(24)).toBe(0xffffff00);
    expect(maskOf(31)).toBe(0xfffffffe);
    expect(maskOf(32)).toBe(0xffffffff);
    expect(sizeOf(c('10.0.0.0/24'))).toBe(256);
    expect(sizeOf(c('10.0.0.0/16'))).toBe(65_536);
    expect(sizeOf(c('10.0.0.0/28'))).toBe(16);
  });

  it('parses CIDRs and says what is wrong in a sentence', () => {
    expect(c('10.0.0.0/24')).toEqual({ network: 0x0a000000, prefix: 24 });
    expect(c(' 192.168.4.0/22 ')).toEqual({ network: ip4('192.168.4.0'), prefix: 22 });
    expect(c('0.0.0.0/0')).toEqual({ network: 0, prefix: 0 });
    expect(() => c('10.0.0.1/24')).toThrow('10.0.0.1/24 has host bits set; the network is 10.0.0.0/24.');
    expect(() => c('192.168.1.77/26')).toThrow('192.168.1.77/26 has host bits set; the network is 192.168.1.64/26.');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '/24', '10.0.0.0/024', '10.0.0.256/24', '10.0.0.0/24; drop', 'ten/8']) {
      expect(() => c(bad), bad).toThrow('Write the range as an IPv4 CIDR, like 10.0.0.0/24.');
    }
  });

  it('containment and overlap', () => {
    expect(contains(c('10.0.0.0/8'), c('10.20.0.0/16'))).toBe(true);
    expect(contains(c('10.20.0.0/16'), c('10.0.0.0/8'))).toBe(false);
    expect(contains(c('10.0.0.0/24'), c('10.0.0.0/24'))).toBe(true);
    expect(contains(c('10.0.0.0/24'), { network: ip4('10.0.0.255'), prefix: 32 })).toBe(true);
    expect(contains(c('10.0.0.0/24'), { network: ip4('10.0.1.0'), prefix: 32 })).toBe(false);
    // Overlap is symmetric and includes containment; neighbours do not overlap.
    const pairs: [string, string, boolean][] = [
      ['10.0.0.0/24', '10.0.0.0/24', true],
      ['10.0.0.0/24', '10.0.0.128/25', true],
      ['10.0.0.0/16', '10.0.255.0/24', true],
      ['10.0.0.0/24', '10.0.1.0/24', false],
      ['10.0.0.0/25', '10.0.0.128/25', false],
      ['172.16.0.0/12', '172.32.0.0/16', false],
      ['0.0.0.0/0', '192.168.0.0/16', true],
    ];
    for (const [a, b, want] of pairs) {
      expect(overlaps(c(a), c(b)), `${a} ${b}`).toBe(want);
      expect(overlaps(c(b), c(a)), `${b} ${a}`).toBe(want);
    }
  });
});

describe('tenant CIDR rules', () => {
  it('accepts private ranges from /16 to /28', () => {
    expect(PREFIX_RANGE).toEqual({ min: 16, max: 28 });
    for (const ok of ['10.0.0.0/24', '10.255.0.0/16', '10.255.255.240/28', '172.16.0.0/16', '172.31.255.0/24', '192.168.0.0/16', '192.168.100.0/28']) {
      expect(whyNotTenantCidr(c(ok)), ok).toBeNull();
    }
  });

  it('refuses a prefix outside /16–/28 with the allowed sizes', () => {
    expect(whyNotTenantCidr(c('10.0.0.0/8'))).toBe('A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/8 is a /8.');
    expect(whyNotTenantCidr(c('10.0.0.0/15'))).toBe('A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/15 is a /15.');
    expect(whyNotTenantCidr(c('10.0.0.0/29'))).toBe('A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/29 is a /29.');
    expect(whyNotTenantCidr(c('10.0.0.1/32'))).toBe('A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.1/32 is a /32.');
  });

  it('refuses public ranges and ranges that only partly lie in RFC 1918', () => {
    const why = (cidr: string) => `${cidr} is not a private range: use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).`;
    for (const bad of ['8.8.8.0/24', '11.0.0.0/16', '172.32.0.0/16', '172.15.255.0/24', '192.169.0.0/16', '100.64.0.0/16', '169.254.0.0/16', '127.0.0.0/16']) {
      expect(whyNotTenantCidr(c(bad)), bad).toBe(why(bad));
    }
  });

  it('usable addresses leave out the network, gateway and broadcast addresses; the gateway is the first', () => {
    expect(usableAddresses(c('10.0.0.0/24'))).toBe(253);
    expect(usableAddresses(c('10.0.0.0/26'))).toBe(61);
    expect(usableAddresses(c('10.0.0.0/28'))).toBe(13);
    expect(usableAddresses(c('10.0.0.0/16'))).toBe(65_533);
    expect(formatIp4(gatewayOf(c('10.0.0.0/24')))).toBe('10.0.0.1');
    expect(formatIp4(gatewayOf(c('192.168.7.64/26')))).toBe('192.168.7.65');
  });

  it('proposes the first /24 of 10.0.0.0/8 that overlaps nothing taken', () => {
    const propose = (...taken: string[]) => {
      const p = proposeCidr(taken.map(c));
      return p && formatCidr(p);
    };
    expect(propose()).toBe('10.0.0.0/24');
    expect(propose('10.0.0.0/24')).toBe('10.0.1.0/24');
    expect(propose('10.0.0.128/25')).toBe('10.0.1.0/24');
    expect(propose('10.0.0.0/24', '10.0.2.0/24')).toBe('10.0.1.0/24');
    expect(propose('10.0.0.0/16')).toBe('10.1.0.0/24');
    expect(propose('10.0.0.0/16', '10.1.0.0/28')).toBe('10.1.1.0/24');
    expect(propose('192.168.0.0/16', '172.16.0.0/12')).toBe('10.0.0.0/24');
    expect(propose('10.0.0.0/9', '10.128.0.0/10', '10.192.0.0/10')).toBeNull();
    expect(propose('10.0.0.0/9', '10.128.0.0/10', '10.192.0.0/11', '10.224.0.0/11')).toBeNull();
    expect(propose('10.0.0.0/9', '10.128.0.0/10', '10.192.0.0/11', '10.224.0.0/12', '10.240.0.0/13', '10.248.0.0/14', '10.252.0.0/15', '10.254.0.0/16', '10.255.0.0/17', '10.255.128.0/18', '10.255.192.0/19', '10.255.224.0/20', '10.255.240.0/21', '10.255.248.0/22', '10.255.252.0/23', '10.255.254.0/24')).toBe('10.255.255.0/24');
  });
});

describe('cidrSchema (the form and the API share it)', () => {
  const issues = (text: string) => {
    const r = cidrSchema.safeParse(text);
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };

  it('accepts a tenant range and trims it', () => {
    expect(cidrSchema.parse(' 10.1.0.0/24 ')).toBe('10.1.0.0/24');
    expect(issues('192.168.0.0/28')).toEqual([]);
  });

  it('gives one sentence per kind of mistake', () => {
    expect(issues('10.0.0.0/8')).toEqual(['A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/8 is a /8.']);
    expect(issues('8.8.8.0/24')).toEqual(['8.8.8.0/24 is not a private range: use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).']);
    expect(issues('10.0.0.5/24')).toEqual(['10.0.0.5/24 has host bits set; the network is 10.0.0.0/24.']);
    expect(issues('a network')).toEqual(['Write the range as an IPv4 CIDR, like 10.0.0.0/24.']);
  });
});
