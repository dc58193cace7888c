import { describe, expect, it } from 'vitest';
import { validateGuestSpec } from './spec';
import { HypervisorError } from './types';

const good = { id: 'web-1', vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2, image: 'cirrus-tiny-linux' };
const image = { minMemoryMiB: 96, minDiskGiB: 1 };

describe('validateGuestSpec', () => {
  it('accepts a sane spec', () => {
    expect(validateGuestSpec(good, image)).toEqual(good);
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
