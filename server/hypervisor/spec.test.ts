import { describe, expect, it } from 'vitest';
import { macAddress, validateGuestSpec } from './spec';
import { HypervisorError } from './types';

const good = {
  id: 'web-1',
  vcpus: 2,
  memoryMiB: 384,
  diskGiB: 2,
  nics: [
    { mac: macAddress('web-1', 0), tap: 'ct0a1b2c3d4e5f6' },
    { mac: macAddress('web-1', 1), tap: null },
  ],
  image: 'cirrus-tiny-linux',
};
const image = { minMemoryMiB: 96, minDiskGiB: 1 };

describe('validateGuestSpec', () => {
  it('accepts a sane spec', () => {
    expect(validateGuestSpec(good, image)).toEqual(good);
  });

  it('reads a NIC count from an older guest record as user-mode NICs with derived MACs', () => {
    expect(validateGuestSpec({ ...good, nics: 2 }, image).nics).toEqual([
      { mac: macAddress('web-1', 0), tap: null },
      { mac: macAddress('web-1', 1), tap: null },
    ]);
  });

  it.each([
    ['zero vCPUs', { vcpus: 0 }],
    ['fractional vCPUs', { vcpus: 1.5 }],
    ['absurd vCPUs', { vcpus: 4096 }],
    ['memory below the image minimum', { memoryMiB: 64 }],
    ['absurd memory', { memoryMiB: 1e9 }],
    ['absurd disk', { diskGiB: 1e7 }],
    ['zero disk', { diskGiB: 0 }],
    ['too many NICs', { nics: 99 }],
    ['a tap name QEMU would take as options', { nics: [{ mac: macAddress('web-1', 0), tap: 'ct0,script=/x' }] }],
    ['a tap name Cirrus did not make', { nics: [{ mac: macAddress('web-1', 0), tap: 'eth0' }] }],
    ['a multicast MAC', { nics: [{ mac: '01:00:5e:00:00:01', tap: null }] }],
    ['a MAC with options after it', { nics: [{ mac: '02:00:00:00:00:01,romfile=/x', tap: null }] }],
    ['two NICs with one MAC', { nics: [{ mac: '02:00:00:00:00:01', tap: null }, { mac: '02:00:00:00:00:01', tap: null }] }],
    ['a path in the id', { id: '../etc' }],
    ['shell characters in the id', { id: 'a;rm -rf /' }],
    ['command substitution in the id', { id: '$(reboot)' }],
    ['upper case in the id', { id: 'Web' }],
    ['an empty id', { id: '' }],
    ['a path as image', { image: '../../etc/passwd' }],
    ['a string number', { memoryMiB: '384' }],
  ])('refuses %s', (_name, patch) => {
    expect(() => validateGuestSpec({ ...good, ...patch }, image)).toThrow(HypervisorError);
  });
});
