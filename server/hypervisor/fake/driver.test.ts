import { describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import type { GuestEvent } from '../types';
import { FakeHypervisor } from './driver';

const spec = { id: 'vm-1', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [{ mac: macAddress('vm-1', 0), tap: null }], image: 'cirrus-tiny-linux' };

describe('FakeHypervisor', () => {
  it('goes through a lifecycle with events, like a real driver', async () => {
    const hv = new FakeHypervisor({ transitionMs: 1 });
    const events: GuestEvent[] = [];
    hv.onEvent((e) => events.push(e));
    await hv.create(spec);
    await hv.start(spec.id);
    expect(await hv.status(spec.id)).toMatchObject({ state: 'running' });
    await hv.pause(spec.id);
    await hv.resume(spec.id);
    hv.crash(spec.id);
    await hv.start(spec.id);
    await hv.stop(spec.id);
    await hv.destroy(spec.id);
    expect(events.map((e) => (e.type === 'stopped' ? `stopped:${e.reason}` : e.type))).toEqual([
      'started', 'paused', 'resumed', 'stopped:crashed', 'started', 'stopped:guest-shutdown',
    ]);
    expect(await hv.list()).toEqual([]);
  });

  it('refuses what the real drivers refuse', async () => {
    const hv = new FakeHypervisor();
    await expect(hv.create({ ...spec, vcpus: 0 })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    await expect(hv.create({ ...spec, image: 'nope' })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    await expect(hv.start('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await hv.create(spec);
    await expect(hv.create(spec)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(hv.pause(spec.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
