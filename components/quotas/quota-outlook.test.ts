import { describe, expect, it } from 'vitest';
import { quotaOutlook, type Quota } from './quota-outlook';

const vcpus: Quota = { resource: 'vcpus', name: 'vCPUs', unit: '', limit: 16, used: 2 };
const memory: Quota = { resource: 'memoryMiB', name: 'Memory', unit: 'MiB', limit: 4096, used: 384 };

describe('quotaOutlook', () => {
  it('shows usage alone when nothing is asked', () => {
    expect(quotaOutlook(vcpus)).toEqual({ after: 2, left: 14, fits: true, text: '2 of 16 used', reason: null });
  });

  it('adds a request and keeps units', () => {
    expect(quotaOutlook(vcpus, 2).text).toBe('2 used + 2 = 4 of 16');
    expect(quotaOutlook(memory, 384).text).toBe('384 MiB used + 384 MiB = 768 MiB of 4096 MiB');
  });

  it('fits exactly at the limit, not one past it', () => {
    expect(quotaOutlook(vcpus, 14)).toMatchObject({ after: 16, fits: true, reason: null });
    expect(quotaOutlook(vcpus, 15)).toMatchObject({ after: 17, fits: false, reason: 'Won’t fit: this needs 15 and only 14 are left.' });
  });

  it('says nothing is left when usage is already over a lowered limit', () => {
    const over = { ...vcpus, used: 20 };
    expect(quotaOutlook(over, 1)).toMatchObject({ left: 0, fits: false, reason: 'Won’t fit: this needs 1 and only 0 are left.' });
    expect(quotaOutlook({ ...memory, used: 4095 }, 2).reason).toBe('Won’t fit: this needs 2 MiB and only 1 MiB is left.');
  });
});
