// Block volumes in a QEMU machine. Each is a chain: the file node, its format
// node (qcow2 or raw), a `throttle` filter on a throttle-group object of its
// own (its limits; zeros: none), and a virtio-blk-pci device on the volume's
// own slot of pci.0, with the id without its dash as its serial. The same
// pieces, as data, make the QMP arguments of a hot-plug and the argv of a
// machine that boots with them (or is built for a saved state of one into
// which they were hot-plugged). Everything named here is derived from a
// validated volume id; see ../volumes.ts for the rules and the slots.
import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeAttachment, VolumeLimits } from '../types';
import { validateVolumeId, volumeSerial, withSlots } from '../volumes';
import { block } from './block-jobs';
import type { QmpExecutor } from './qmp-commands';
import { QmpError, type QmpEventMessage } from './qmp-wire';

/** What QEMU calls a volume's pieces (node names ≤ 31 characters, device and object ids). */
export function volumeNames(volumeId: string): { device: string; group: string; throttle: string; format: string; file: string } {
  const id = validateVolumeId(volumeId);
  return { device: id, group: `tg-${id}`, throttle: `${id}-thr`, format: `${id}-fmt`, file: `${id}-file` };
}

/** A throttle group's limits: totals of reads and writes; 0 is no limit. */
export function throttleLimits(limits: VolumeLimits | null): { 'iops-total': number; 'bps-total': number } {
  return { 'iops-total': limits?.iops ?? 0, 'bps-total': limits?.bytesPerSecond ?? 0 };
}

export function throttleGroupOf(v: VolumeAttachment): Record<string, unknown> {
  return { 'qom-type': 'throttle-group', id: volumeNames(v.id).group, limits: throttleLimits(v.limits) };
}

/** One blockdev-add for the three nodes (deleting the top one takes the others with it). Discards reach the file, so a thin volume shrinks back. */
export function blockdevOf(v: VolumeAttachment): Record<string, unknown> {
  const n = volumeNames(v.id);
  return {
    driver: 'throttle',
    'node-name': n.throttle,
    'throttle-group': n.group,
    file: { driver: v.source.format, 'node-name': n.format, discard: 'unmap', file: { driver: 'file', 'node-name': n.file, filename: v.source.path, discard: 'unmap' } },
  };
}

export function deviceOf(v: VolumeAttachment & { slot: number }): Record<string, string> {
  const n = volumeNames(v.id);
  return { driver: 'virtio-blk-pci', id: n.device, drive: n.throttle, serial: volumeSerial(v.id), bus: 'pci.0', addr: `0x${v.slot.toString(16)}` };
}

/**
 * A machine's volumes as argv: -object and -blockdev as JSON (the QMP
 * structures themselves; paths need no escaping), -device as key=value (a
 * JSON -device does not report its unplug in QEMU before 7.0).
 */
export function volumeArgs(volumes: VolumeAttachment[]): string[] {
  return withSlots(volumes).flatMap((v) => {
    const { driver, ...props } = deviceOf(v);
    return ['-object', JSON.stringify(throttleGroupOf(v)), '-blockdev', JSON.stringify(blockdevOf(v)), '-device', [driver, ...Object.entries(props).map(([k, val]) => `${k}=${val}`)].join(',')];
  });
}

const isClass = (e: unknown, cls: string) => e instanceof QmpError && e.errorClass === cls;

async function hasObject(m: QmpExecutor, id: string): Promise<boolean> {
  return m.execute('qom-get', { path: `/objects/${id}`, property: 'type' }).then(
    () => true,
    (e: unknown) => (isClass(e, 'DeviceNotFound') ? false : Promise.reject(e)),
  );
}

async function hasNode(m: QmpExecutor, nodeName: string): Promise<boolean> {
  return (await block.namedNodes(m)).some((n) => n['node-name'] === nodeName);
}

/** The PCI slot the volume's device is on, or null when the machine has no such device. */
export async function volumeSlot(m: QmpExecutor, volumeId: string): Promise<number | null> {
  try {
    const devfn = await m.execute<number>('qom-get', { path: `/machine/peripheral/${volumeNames(volumeId).device}`, property: 'addr' });
    return devfn >> 3;
  } catch (e) {
    if (isClass(e, 'DeviceNotFound')) return null;
    throw e;
  }
}

/**
 * Plug a volume into a running machine; what it has of it already (a retry,
 * or a crash before the record) is kept, its limits set as given. On failure
 * what this call added is removed again. Returns the slot it is on.
 */
export async function plugVolume(m: QmpExecutor, v: VolumeAttachment & { slot: number }): Promise<number> {
  const n = volumeNames(v.id);
  const undo: (() => Promise<unknown>)[] = [];
  try {
    if (await hasObject(m, n.group)) await setLiveVolumeLimits(m, v.id, v.limits);
    else {
      await m.execute('object-add', throttleGroupOf(v));
      undo.push(() => m.execute('object-del', { id: n.group }));
    }
    if (!(await hasNode(m, n.throttle))) {
      await m.execute('blockdev-add', blockdevOf(v));
      undo.push(() => m.execute('blockdev-del', { 'node-name': n.throttle }));
    }
    const at = await volumeSlot(m, v.id);
    if (at !== null) return at;
    await m.execute('device_add', deviceOf(v));
    return v.slot;
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined); // nothing half-plugged stays
    throw e;
  }
}

export type QmpEventTap = (listener: (e: QmpEventMessage) => void) => () => void;

/**
 * Unplug a volume: ask the guest to let go of the device (ACPI), wait for
 * QEMU's DEVICE_DELETED up to `timeoutMs`, then remove its nodes and group.
 * false: the guest kept it (the request stands; a later call finishes the
 * job once it is gone). Idempotent: what is gone already is skipped.
 */
export async function unplugVolume(m: QmpExecutor, volumeId: string, opts: { timeoutMs: number; events: QmpEventTap }): Promise<boolean> {
  const n = volumeNames(volumeId);
  if ((await volumeSlot(m, volumeId)) !== null) {
    let deleted = false;
    let heard: () => void = () => undefined;
    const event = new Promise<void>((resolve) => (heard = resolve));
    const off = opts.events((e) => {
      if (e.event === 'DEVICE_DELETED' && e.data?.device === n.device) {
        deleted = true;
        heard();
      }
    });
    try {
      await m.execute('device_del', { id: n.device }).catch((e: unknown) => {
        if (isClass(e, 'DeviceNotFound')) deleted = true;
        // Asked before (a detach that timed out): the guest has the request already.
        else if (!(e instanceof QmpError && /in the process of unplug/.test(e.message))) throw e;
      });
      const until = Date.now() + opts.timeoutMs;
      while (!deleted && Date.now() < until) {
        await Promise.race([event, sleep(Math.min(1_000, Math.max(0, until - Date.now())))]);
        // Asked now and then too: an event can be lost to a monitor reconnect.
        if (!deleted && (await volumeSlot(m, volumeId)) === null) deleted = true;
      }
    } finally {
      off();
    }
    if (!deleted) return false;
  }
  if (await hasNode(m, n.throttle)) await m.execute('blockdev-del', { 'node-name': n.throttle });
  if (await hasObject(m, n.group)) await m.execute('object-del', { id: n.group });
  return true;
}

/** Set a plugged volume's limits (the group's whole `limits`: both totals, zeros for none). */
export function setLiveVolumeLimits(m: QmpExecutor, volumeId: string, limits: VolumeLimits | null): Promise<unknown> {
  return m.execute('qom-set', { path: `/objects/${volumeNames(volumeId).group}`, property: 'limits', value: throttleLimits(limits) });
}

/** The limits QEMU applies to a plugged volume, as it reports them. */
export async function liveVolumeLimits(m: QmpExecutor, volumeId: string): Promise<{ 'iops-total': number; 'bps-total': number }> {
  const l = await m.execute<Record<string, number>>('qom-get', { path: `/objects/${volumeNames(volumeId).group}`, property: 'limits' });
  return { 'iops-total': l['iops-total'] ?? 0, 'bps-total': l['bps-total'] ?? 0 };
}
