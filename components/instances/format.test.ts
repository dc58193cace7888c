import { describe, expect, it } from 'vitest';
import { formatSize, plainConsoleText, roleReason } from './format';

describe('formatSize', () => {
  it('reads like the list column', () => {
    expect(formatSize({ vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2 })).toBe('2 vCPU · 384 MiB · 2 GiB · 2 NIC');
  });
});

describe('plainConsoleText', () => {
  it('drops terminal control sequences and carriage returns, keeps text, tabs and newlines', () => {
    const raw = 'CIRRUS-HW vcpus=2\r\ncirrus:/root# \x1b[6n\x1b[0;32mok\x1b[0m\x1b]0;title\x07\tend\x07';
    expect(plainConsoleText(raw)).toBe('CIRRUS-HW vcpus=2\ncirrus:/root# ok\tend');
  });
});

describe('roleReason', () => {
  it('stops viewers only', () => {
    expect(roleReason('viewer')).toBe('Viewers cannot change instances.');
    expect(roleReason('member')).toBeUndefined();
    expect(roleReason('owner')).toBeUndefined();
  });
});
