import type { RouterOutputs } from '@/server/trpc/root';
import type { InstanceState } from '@/server/instances/can';

export type Volume = RouterOutputs['volumes']['list']['items'][number];
export type VolumeState = Volume['state'];

export const VOLUMES_PAGE_SIZE = 20;

/** States a job is moving the volume out of: the lists poll every second while one is shown. */
export const busyVolumeStates: readonly VolumeState[] = ['creating', 'attaching', 'detaching', 'deleting'];

export const anyBusy = (rows: readonly Volume[]) => rows.some((v) => busyVolumeStates.includes(v.state));

// The server's rules (server/storage/volumes.ts), as the reasons buttons are disabled with.
// They are copied because that module imports the database; the server still decides.

/** Attach: an available volume, to a running or stopped instance. */
export function attachWhyNot(v: Pick<Volume, 'state'>, instanceState?: InstanceState): string | undefined {
  if (v.state !== 'available') return `This volume is ${v.state}: only an available volume can be attached.`;
  if (instanceState && instanceState !== 'running' && instanceState !== 'stopped') {
    return `A volume is attached to a running or stopped instance; this one is ${instanceState}.`;
  }
  return undefined;
}

/** Detach: a volume in use. */
export function detachWhyNot(v: Pick<Volume, 'state'>): string | undefined {
  return v.state === 'in-use' ? undefined : `This volume is ${v.state}: only a volume in use can be detached.`;
}

/** Delete: attached to nothing, and available (or failed). */
export function deleteWhyNot(v: Pick<Volume, 'state' | 'instanceId'>): string | undefined {
  if (v.instanceId && (v.state === 'attaching' || v.state === 'in-use' || v.state === 'detaching')) return 'It is attached: detach it before deleting it.';
  if (v.state !== 'available' && v.state !== 'error') return `This volume is ${v.state}: wait until it is available.`;
  return undefined;
}

/** "3000 IOPS · 125 MB/s" */
export const formatIo = (v: Pick<Volume, 'iops' | 'mbps'>) => `${v.iops} IOPS · ${v.mbps} MB/s`;

/** A state word's colour. */
export function volumeTone(state: VolumeState): 'emerald' | 'sky' | 'amber' | 'red' | 'slate' {
  if (state === 'in-use') return 'sky';
  if (state === 'available') return 'emerald';
  if (state === 'error') return 'red';
  return 'amber';
}
