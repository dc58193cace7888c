import { describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import { MAX_VOLUMES } from '../limits';
import type { GuestEvent, VolumeAttachment } from '../types';
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

  describe('volumes', () => {
    const vol = (n: number, limits: VolumeAttachment['limits'] = null): VolumeAttachment => ({
      id: `vol-${n.toString(16).padStart(17, '0')}`,
      source: { kind: 'file', path: `/pool/vol-${n.toString(16).padStart(17, '0')}.qcow2`, format: 'qcow2' },
      limits,
    });
    const other = { ...spec, id: 'vm-2', nics: [] };

    it('attaches to a running guest in transitionMs, on the lowest free slot, idempotently', async () => {
      const hv = new FakeHypervisor({ transitionMs: 30 });
      await hv.create(spec);
      await hv.start(spec.id);
      const t0 = Date.now();
      await hv.attachVolume(spec.id, vol(1));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
      await hv.attachVolume(spec.id, vol(2, { iops: 100, bytesPerSecond: 0 }));
      expect(await hv.listVolumes(spec.id)).toEqual([{ ...vol(1), slot: 0x18 }, { ...vol(2, { iops: 100, bytesPerSecond: 0 }), slot: 0x19 }]);
      // Again, with other limits: the same attachment, its limits as given.
      await hv.attachVolume(spec.id, vol(1, { iops: 0, bytesPerSecond: 1_000_000 }));
      expect((await hv.listVolumes(spec.id))[0]).toEqual({ ...vol(1, { iops: 0, bytesPerSecond: 1_000_000 }), slot: 0x18 });
      await hv.setVolumeLimits(spec.id, vol(1).id, { iops: 0, bytesPerSecond: 0 });
      expect((await hv.listVolumes(spec.id))[0]!.limits).toBeNull(); // zeros are no ceiling
      await hv.detachVolume(spec.id, vol(1).id);
      await hv.detachVolume(spec.id, vol(1).id); // again: nothing to do
      await hv.attachVolume(spec.id, vol(3));
      expect((await hv.listVolumes(spec.id)).map((v) => [v.id, v.slot])).toEqual([[vol(2).id, 0x19], [vol(3).id, 0x18]]);
    });

    it('refuses a second guest, a saved state, a paused detach, too many volumes and bad input', async () => {
      const hv = new FakeHypervisor({ transitionMs: 1 });
      await hv.create(spec);
      await hv.create(other);
      await hv.attachVolume(spec.id, vol(1));
      await expect(hv.attachVolume(other.id, vol(1))).rejects.toThrow(/is attached to guest vm-1: detach it there first/);
      await expect(hv.attachVolume(other.id, { ...vol(9), source: vol(1).source })).rejects.toMatchObject({ code: 'INVALID_STATE' });
      await expect(hv.attachVolume(spec.id, { ...vol(1), source: vol(2).source })).rejects.toThrow(/is attached to guest vm-1 from/);
      for (let i = 2; i <= MAX_VOLUMES; i++) await hv.attachVolume(spec.id, vol(i));
      await expect(hv.attachVolume(spec.id, vol(99))).rejects.toThrow(/has 8 volumes attached, the most it can have/);
      await expect(hv.attachVolume(spec.id, { ...vol(99), id: 'vol-1' })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
      await expect(hv.attachVolume(spec.id, { ...vol(99), source: { kind: 'file', path: '/pool/../etc/shadow', format: 'qcow2' } })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
      await expect(hv.attachVolume(spec.id, { ...vol(99), limits: { iops: -1, bytesPerSecond: 0 } })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
      await expect(hv.setVolumeLimits(spec.id, vol(99).id, null)).rejects.toMatchObject({ code: 'NOT_FOUND' });

      await hv.start(other.id);
      await hv.attachVolume(other.id, vol(50));
      await hv.saveState(other.id);
      await expect(hv.attachVolume(other.id, vol(51))).rejects.toThrow(/is suspended/);
      await expect(hv.detachVolume(other.id, vol(50).id)).rejects.toThrow(/is suspended with volume/);
      await hv.restoreState(other.id);
      await hv.pause(other.id);
      await expect(hv.detachVolume(other.id, vol(50).id)).rejects.toThrow(/is paused/);
      await hv.resume(other.id);
      hv.holdVolumes(other.id);
      await expect(hv.detachVolume(other.id, vol(50).id, { timeoutMs: 5_000 })).rejects.toThrow(/did not let go of volume .* within 5 s/);
      expect((await hv.listVolumes(other.id)).map((v) => v.id)).toEqual([vol(50).id]);
      hv.holdVolumes(other.id, false);
      await hv.detachVolume(other.id, vol(50).id);
      expect(await hv.listVolumes(other.id)).toEqual([]);
    });

    it('keeps volumes out of memory snapshots, clones and new guests', async () => {
      const hv = new FakeHypervisor({ transitionMs: 1 });
      await hv.create({ ...spec, volumes: [vol(1)] });
      expect(await hv.listVolumes(spec.id)).toEqual([]); // attached, never created with
      await hv.start(spec.id);
      await hv.createSnapshot(spec.id, { name: 'mem', memory: true });
      await hv.attachVolume(spec.id, vol(1));
      await expect(hv.createSnapshot(spec.id, { name: 'mem2', memory: true })).rejects.toThrow(/detach its volumes first to take a snapshot with memory/);
      await expect(hv.restoreSnapshot(spec.id, 'mem')).rejects.toThrow(/detach its volumes first to restore snapshot mem/);
      expect(await hv.createSnapshot(spec.id, { name: 'disk', memory: false })).toMatchObject({ memory: false });
      await hv.clone(spec.id, { ...other, volumes: [vol(1)] }, { snapshot: 'disk', linked: true });
      expect(await hv.listVolumes(other.id)).toEqual([]);
      await hv.detachVolume(spec.id, vol(1).id);
      expect(await hv.restoreSnapshot(spec.id, 'mem')).toBe('running');
    });

    it('exports a disk point into a pool volume (validated, nothing written)', async () => {
      const hv = new FakeHypervisor({ transitionMs: 1 });
      await hv.create(spec);
      await hv.create(other);
      await hv.attachVolume(other.id, vol(2));
      const progress: number[] = [];
      await hv.exportDisk(spec.id, null, vol(1).source, (p) => progress.push(p.doneBytes / p.totalBytes));
      expect(progress.at(-1)).toBe(1);
      expect(hv.exported(vol(1).source.path)).toEqual({ sourceId: spec.id, snapshot: null, virtualSizeBytes: 1024 ** 3 });
      await expect(hv.exportDisk(spec.id, 'nope', vol(1).source)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(hv.exportDisk(spec.id, null, vol(2).source)).rejects.toThrow(/is attached to guest vm-2/);
      await expect(hv.exportDisk(spec.id, null, { ...vol(3).source, format: 'raw' })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
      await expect(hv.exportDisk(spec.id, null, { kind: 'file', path: 'relative.qcow2', format: 'qcow2' })).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    });
  });
});
