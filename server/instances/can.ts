// What an instance may do in each state: one module, used by the server to
// refuse and by the UI to disable a button with the reason. (No server imports:
// the browser bundles this file.)

export const instanceStates = [
  'pending',
  'starting',
  'running',
  'stopping',
  'stopped',
  'suspending',
  'suspended',
  'resuming',
  'restoring',
  'resizing',
  'terminating',
  'terminated',
  'error',
] as const;
export type InstanceState = (typeof instanceStates)[number];
export type InstanceAction = 'start' | 'stop' | 'reboot' | 'suspend' | 'resume' | 'snapshot' | 'restore' | 'clone' | 'capture' | 'resize' | 'terminate';

const allowed: Record<InstanceAction, readonly InstanceState[]> = {
  start: ['stopped'],
  // A suspended instance may be stopped: its saved state is discarded and it boots from its disk next time.
  stop: ['running', 'starting', 'suspended'],
  reboot: ['running'],
  suspend: ['running'],
  resume: ['suspended'],
  // A snapshot is of a running guest (with or without memory) or a stopped one (its disk).
  snapshot: ['running', 'stopped'],
  // A running instance takes back only a snapshot with memory: restoreWhyNot says so.
  restore: ['running', 'stopped'],
  // A clone of its disk as it is now; a clone of one of its snapshots is allowed wider (copyWhyNot).
  clone: ['running', 'stopped'],
  // An image of its disk as it is now (of a snapshot: as for clones).
  capture: ['running', 'stopped'],
  // Running: hot-added (never smaller) up to the room it was started with; stopped: any size (resizeWhyNot says the rest).
  resize: ['running', 'stopped'],
  terminate: ['pending', 'starting', 'running', 'stopping', 'stopped', 'suspending', 'suspended', 'resuming', 'restoring', 'resizing', 'error'],
};

const verbs: Record<InstanceAction, string> = {
  start: 'started',
  stop: 'stopped',
  reboot: 'rebooted',
  suspend: 'suspended',
  resume: 'resumed',
  snapshot: 'snapshotted',
  restore: 'restored to a snapshot',
  clone: 'cloned',
  capture: 'made into an image',
  resize: 'resized',
  terminate: 'terminated',
};

/** Only a … one can: said where one state is the only way in. */
const onlyFrom: Partial<Record<InstanceAction, string>> = { start: 'stopped', suspend: 'running', resume: 'suspended' };

/** null when allowed; otherwise the sentence saying why not. */
export function whyNot(action: InstanceAction, state: InstanceState): string | null {
  if (allowed[action].includes(state)) return null;
  if (state === 'terminated') return 'This instance is terminated.';
  if (state === 'terminating') return 'This instance is being terminated.';
  if (action === 'start' && state === 'suspended') return 'A suspended instance is resumed, not started (or stop it to boot from its disk).';
  const only = onlyFrom[action];
  return `A ${state} instance cannot be ${verbs[action]}${only ? ` (only a ${only} one can)` : ''}.`;
}

const can = (action: InstanceAction) => (i: { state: InstanceState }) => whyNot(action, i.state) === null;

export const instanceCan = {
  start: can('start'),
  stop: can('stop'),
  reboot: can('reboot'),
  suspend: can('suspend'),
  resume: can('resume'),
  snapshot: can('snapshot'),
  restore: can('restore'),
  clone: can('clone'),
  capture: can('capture'),
  resize: can('resize'),
  terminate: can('terminate'),
};

export const allowedFrom = (action: InstanceAction) => allowed[action];

/** States that are on their way somewhere: the UI polls while any is shown. */
export const transitional: readonly InstanceState[] = ['pending', 'starting', 'stopping', 'suspending', 'resuming', 'restoring', 'resizing', 'terminating'];

/** Why this instance cannot be put back to a snapshot (with memory or not) now; null when it can. */
export function restoreWhyNot(state: InstanceState, withMemory: boolean): string | null {
  const base = whyNot('restore', state);
  if (base) return base;
  if (state === 'running' && !withMemory) return 'A snapshot without memory is restored into a stopped instance: stop it first.';
  return null;
}

/** Why a snapshot (with memory or not) cannot be taken of this instance now; null when it can. */
export function snapshotWhyNot(state: InstanceState, withMemory: boolean): string | null {
  const base = whyNot('snapshot', state);
  if (base) return base;
  if (withMemory && state !== 'running') return 'A snapshot with memory is taken of a running instance.';
  return null;
}

/** States whose instance holds a saved running state (billed as storage, counted in its quota). */
export const holdsSavedState: readonly InstanceState[] = ['suspending', 'suspended', 'resuming'];

/** States whose instance still has the snapshots it was given (a clone of one can be made). */
const keepsSnapshots: readonly InstanceState[] = ['running', 'stopping', 'stopped', 'suspending', 'suspended', 'resuming', 'restoring', 'resizing', 'error'];

/**
 * Why a clone or an image of this instance (of its disk now, or of one of its
 * snapshots) cannot be made now; null when it can.
 */
export function copyWhyNot(action: 'clone' | 'capture', state: InstanceState, fromSnapshot: boolean): string | null {
  if (!fromSnapshot) {
    if (state === 'suspended') return 'A suspended instance’s disk belongs with its saved memory: resume it first, or use one of its snapshots.';
    return whyNot(action, state);
  }
  return keepsSnapshots.includes(state) ? null : whyNot(action, state);
}

/** Memory is hot-added in whole Linux memory blocks (as the driver plugs it). */
export const HOT_MEMORY_STEP_MIB = 128;

export type Size = { vcpus: number; memoryMiB: number; diskGiB: number };

/**
 * Why this instance cannot take the size `to` now; null when it can. Running:
 * only more, within the room it was started with (`max`), memory in whole
 * steps, and only where its image brings hot-added CPUs and memory online.
 * A disk only grows.
 */
export function resizeWhyNot(
  i: { state: InstanceState } & Size & { maxVcpus: number | null; maxMemoryMiB: number | null },
  to: Size,
  hotplug: boolean,
): string | null {
  const base = whyNot('resize', i.state);
  if (base) return base;
  if (to.diskGiB < i.diskGiB) return `A disk only grows: it has ${i.diskGiB} GiB.`;
  if (to.vcpus === i.vcpus && to.memoryMiB === i.memoryMiB && to.diskGiB === i.diskGiB) return 'That is the size it has.';
  if (i.state !== 'running') return null;
  if (to.vcpus < i.vcpus || to.memoryMiB < i.memoryMiB) return 'A running instance is not made smaller: stop it first.';
  if (!hotplug && (to.vcpus > i.vcpus || to.memoryMiB > i.memoryMiB)) return 'Its image does not bring hot-added vCPUs and memory online: stop it to change them.';
  const maxV = i.maxVcpus ?? i.vcpus;
  const maxM = i.maxMemoryMiB ?? i.memoryMiB;
  if (to.vcpus > maxV) return `It was started with room for ${maxV} vCPU${maxV === 1 ? '' : 's'}: stop it to go beyond.`;
  if (to.memoryMiB > maxM) return `It was started with room for ${maxM} MiB: stop it to go beyond.`;
  if ((to.memoryMiB - i.memoryMiB) % HOT_MEMORY_STEP_MIB !== 0) return `Memory is added to a running instance in steps of ${HOT_MEMORY_STEP_MIB} MiB.`;
  return null;
}

/** Why a snapshot's memory cannot be loaded into the instance at the size it has now (it loads only at the size it was taken at); null when it can. */
export function snapshotSizeWhyNot(
  snap: { name: string; withMemory: boolean; vcpus: number | null; memoryMiB: number | null },
  inst: { name: string; vcpus: number; memoryMiB: number },
): string | null {
  if (!snap.withMemory || snap.vcpus === null || (snap.vcpus === inst.vcpus && snap.memoryMiB === inst.memoryMiB)) return null;
  return `Snapshot “${snap.name}” holds the memory of ${inst.name} at ${snap.vcpus} vCPU and ${snap.memoryMiB} MiB; it has ${inst.vcpus} vCPU and ${inst.memoryMiB} MiB now. Resize it back (stopped) to restore it.`;
}
