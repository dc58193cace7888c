import { formatBytes } from '../ui/format-bytes';
import type { Instance } from './format';

const doing: Partial<Record<Instance['state'], string>> = {
  suspending: 'Saving its memory to disk',
  resuming: 'Loading its memory from disk',
  restoring: 'Putting it back to a snapshot',
  resizing: 'Changing its size',
};

/**
 * How far a long operation (suspend, resume, restore, a full clone's copy) has come, from what QEMU reports;
 * a native progress bar, announced politely as it moves.
 */
export function OperationProgress({ instance }: { instance: Pick<Instance, 'state' | 'progress' | 'cloneOfInstanceId'> }) {
  // A full clone's disk is copied while it is starting: that is the long part.
  const copying = instance.state === 'starting' && instance.cloneOfInstanceId !== null && instance.progress !== null;
  const what = copying ? 'Copying its disk from its source' : doing[instance.state];
  if (!what) return null;
  const p = instance.progress;
  const pct = p && p.totalBytes > 0 ? Math.min(100, Math.floor((p.doneBytes / p.totalBytes) * 100)) : null;
  const label = p && pct !== null ? `${what}: ${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)} (${pct}%)` : `${what}…`;
  return (
    <div className="max-w-md space-y-1">
      <p role="status" aria-live="polite" className="text-sm text-slate-700">
        {label}
      </p>
      <progress className="h-2 w-full accent-sky-700" aria-label={what} max={100} value={pct ?? undefined} />
    </div>
  );
}
