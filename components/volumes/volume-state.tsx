import { Badge } from '../ui/badge';
import { busyVolumeStates, volumeTone, type Volume } from './volume-rules';

/** A volume's state word, a progress bar while a job moves it, and the reason it is where it is. */
export function VolumeStateCell({ volume: v }: { volume: Volume }) {
  const p = v.progress;
  const pct = p && p.totalBytes > 0 ? Math.min(100, Math.floor((p.doneBytes / p.totalBytes) * 100)) : null;
  return (
    <span className="inline-flex flex-col items-start gap-1">
      <Badge tone={volumeTone(v.state)}>{v.state}</Badge>
      {busyVolumeStates.includes(v.state) ? (
        <progress
          className="h-1.5 w-24 accent-sky-700"
          aria-label={`${v.name}: ${v.state}${pct !== null ? ` ${pct}%` : ''}`}
          max={100}
          value={pct ?? undefined}
        />
      ) : null}
      {v.stateReason ? <span className={`max-w-64 text-xs ${v.state === 'error' ? 'text-red-700' : 'text-slate-600'}`}>{v.stateReason}</span> : null}
    </span>
  );
}
