// A guest's volumes: the rules every driver follows. What an attachment may
// hold (checked before any of it becomes a path, a QMP argument or an argv),
// the serial and PCI slot a guest sees a volume at, and why an attach is
// refused. qemu/volumes.ts plugs the devices; storage/ holds the volumes.
//
// Slots: a volume sits on a PCI slot of its own, from a fixed range no
// automatically placed device reaches (those fill slots from 2 up: root disk,
// seed, at most 8 NICs, VGA, the agent's port — 13 at most), so a machine
// built for a saved state, with its volumes on the command line, has every
// device where the running one had it.
import { MAX_VOLUMES } from './limits';
import { VOLUME_ID_PATTERN } from './storage/types';
import { HypervisorError, type BlockSource, type VolumeAttachment, type VolumeLimits } from './types';

/** The PCI slots of volumes: 0x18–0x1f for MAX_VOLUMES = 8. */
export const FIRST_VOLUME_SLOT = 0x18;
export const VOLUME_SLOTS: readonly number[] = Array.from({ length: MAX_VOLUMES }, (_, i) => FIRST_VOLUME_SLOT + i);

/** QEMU's ceiling for a throttle value (THROTTLE_VALUE_MAX). */
export const MAX_THROTTLE_VALUE = 1e15;
const MAX_PATH_BYTES = 4096;

const bad = (what: string) => new HypervisorError('INVALID_SPEC', what);

export function validateVolumeId(id: unknown): string {
  if (typeof id !== 'string' || !VOLUME_ID_PATTERN.test(id)) throw bad(`volume id must match ${VOLUME_ID_PATTERN.source}, got ${JSON.stringify(id)}`);
  return id;
}

/** What the guest reads as the disk's serial (virtio-blk keeps 20 characters): the id without its dash. */
export function volumeSerial(id: string): string {
  return validateVolumeId(id).replace('-', '');
}

/** An absolute, normalised path without control characters (it reaches QMP and, as JSON, QEMU's argv). */
function validatePath(p: unknown): string {
  const ok =
    typeof p === 'string' &&
    p.startsWith('/') &&
    Buffer.byteLength(p) <= MAX_PATH_BYTES &&
    !/[\u0000-\u001f\u007f]/.test(p) &&
    !p.split('/').some((part, i) => (i > 0 && part === '') || part === '.' || part === '..');
  if (!ok) throw bad(`a volume's source must be an absolute, normalised file path, got ${JSON.stringify(p)}`);
  return p;
}

export function validateBlockSource(raw: unknown): BlockSource {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (s.kind !== 'file') throw bad(`a volume's source kind must be "file", got ${JSON.stringify(s.kind)}`);
  if (s.format !== 'qcow2' && s.format !== 'raw') throw bad(`a volume's format must be qcow2 or raw, got ${JSON.stringify(s.format)}`);
  return { kind: 'file', path: validatePath(s.path), format: s.format };
}

/** null (or both zero): not throttled. */
export function validateVolumeLimits(raw: unknown): VolumeLimits | null {
  if (raw === null || raw === undefined) return null;
  const l = (typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  for (const k of ['iops', 'bytesPerSecond'] as const) {
    const v = l[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_THROTTLE_VALUE) throw bad(`volume limit ${k} must be a whole number from 0 to ${MAX_THROTTLE_VALUE}, got ${JSON.stringify(v)}`);
  }
  const limits = { iops: l.iops as number, bytesPerSecond: l.bytesPerSecond as number };
  return limits.iops === 0 && limits.bytesPerSecond === 0 ? null : limits;
}

export function validateVolumeAttachment(raw: unknown): VolumeAttachment {
  const v = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const out: VolumeAttachment = { id: validateVolumeId(v.id), source: validateBlockSource(v.source), limits: validateVolumeLimits(v.limits) };
  if (v.slot !== undefined && v.slot !== null) {
    if (typeof v.slot !== 'number' || !VOLUME_SLOTS.includes(v.slot)) throw bad(`volume ${out.id}: slot must be one of 0x${VOLUME_SLOTS[0]!.toString(16)}–0x${VOLUME_SLOTS.at(-1)!.toString(16)}, got ${JSON.stringify(v.slot)}`);
    out.slot = v.slot;
  }
  return out;
}

/** A guest's volumes as a record holds them: at most MAX_VOLUMES, each id, source and slot once. */
export function validateVolumes(raw: unknown): VolumeAttachment[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > MAX_VOLUMES) throw bad(`volumes must be a list of at most ${MAX_VOLUMES}`);
  const volumes = raw.map(validateVolumeAttachment);
  const dup = (key: (v: VolumeAttachment) => unknown) => new Set(volumes.map(key).filter((k) => k !== undefined)).size !== volumes.filter((v) => key(v) !== undefined).length;
  if (dup((v) => v.id) || dup((v) => v.source.path) || dup((v) => v.slot)) throw bad('a volume (its id, its source and its slot) is attached once');
  return volumes;
}

/**
 * Every volume with its slot: as recorded, or (a record without one) the
 * lowest slot free, in order. What a machine plugs them at.
 */
export function withSlots(volumes: VolumeAttachment[]): (VolumeAttachment & { slot: number })[] {
  const taken = new Set(volumes.map((v) => v.slot).filter((s) => s !== undefined));
  const free = VOLUME_SLOTS.filter((s) => !taken.has(s));
  return volumes.map((v) => ({ ...v, slot: v.slot ?? free.shift()! }));
}

export type AttachPlan =
  /** It is attached already: only its limits are (re)applied. */
  | { kind: 'attached'; volume: VolumeAttachment & { slot: number }; volumes: VolumeAttachment[] }
  /** A new attachment, on the lowest free slot (a slot the caller gave is not taken as a wish). */
  | { kind: 'new'; volume: VolumeAttachment & { slot: number }; volumes: VolumeAttachment[] };

/**
 * What attaching `want` to guest `guestId` (which has `volumes`) comes to,
 * or why not. `elsewhere`: the other guest of this host that has the same
 * volume or source attached, if any. The caller checks for a saved state.
 */
export function planAttach(guestId: string, volumes: VolumeAttachment[], want: VolumeAttachment, elsewhere: string | null): AttachPlan {
  const current = withSlots(volumes);
  const known = current.find((v) => v.id === want.id);
  if (known) {
    if (known.source.path !== want.source.path || known.source.format !== want.source.format) {
      throw new HypervisorError('INVALID_STATE', `volume ${want.id} is attached to guest ${guestId} from ${known.source.path}, not ${want.source.path}`);
    }
    const volume = { ...known, limits: want.limits };
    return { kind: 'attached', volume, volumes: current.map((v) => (v.id === want.id ? volume : v)) };
  }
  const sameSource = current.find((v) => v.source.path === want.source.path);
  if (sameSource) throw new HypervisorError('INVALID_STATE', `guest ${guestId} has ${want.source.path} attached already, as volume ${sameSource.id}`);
  if (elsewhere) throw new HypervisorError('INVALID_STATE', `volume ${want.id} (${want.source.path}) is attached to guest ${elsewhere}: detach it there first`);
  if (current.length >= MAX_VOLUMES) throw new HypervisorError('INVALID_STATE', `guest ${guestId} has ${MAX_VOLUMES} volumes attached, the most it can have: detach one first`);
  const taken = new Set(current.map((v) => v.slot));
  const volume = { ...want, slot: VOLUME_SLOTS.find((s) => !taken.has(s))! };
  return { kind: 'new', volume, volumes: [...current, volume] };
}

/** Whether `a` (of some guest) is the volume `volumeId` or reads `path`. */
export function sharesVolume(a: VolumeAttachment, volumeId: string | null, path: string): boolean {
  return a.id === volumeId || a.source.path === path;
}

/** The refusal of what a guest with volumes cannot do (memory snapshots: the volumes are not in them); null when it has none. */
export function volumesWhyNot(guestId: string, volumes: VolumeAttachment[] | undefined, what: string): HypervisorError | null {
  if (!volumes?.length) return null;
  return new HypervisorError('INVALID_STATE', `guest ${guestId} has volumes attached (${volumes.map((v) => v.id).join(', ')}), which a memory snapshot does not hold: detach its volumes first to ${what}`);
}
