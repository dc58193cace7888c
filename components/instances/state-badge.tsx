import { transitional, type InstanceState } from '@/server/instances/can';

const tones: Record<InstanceState, string> = {
  pending: 'bg-amber-50 text-amber-900 ring-amber-300',
  starting: 'bg-amber-50 text-amber-900 ring-amber-300',
  running: 'bg-emerald-50 text-emerald-900 ring-emerald-300',
  stopping: 'bg-amber-50 text-amber-900 ring-amber-300',
  stopped: 'bg-slate-100 text-slate-800 ring-slate-300',
  suspending: 'bg-amber-50 text-amber-900 ring-amber-300',
  suspended: 'bg-indigo-50 text-indigo-900 ring-indigo-300',
  resuming: 'bg-amber-50 text-amber-900 ring-amber-300',
  restoring: 'bg-amber-50 text-amber-900 ring-amber-300',
  resizing: 'bg-amber-50 text-amber-900 ring-amber-300',
  terminating: 'bg-orange-50 text-orange-900 ring-orange-300',
  terminated: 'bg-slate-50 text-slate-500 ring-slate-200',
  error: 'bg-red-50 text-red-800 ring-red-300',
};

/** The state as text (never colour alone), with a dot that pulses while it is on its way somewhere. */
export function StateBadge({ state }: { state: InstanceState }) {
  const moving = transitional.includes(state);
  return (
    <span className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${tones[state]}`}>
      <span aria-hidden className={`size-1.5 rounded-full bg-current ${moving ? 'animate-pulse' : ''}`} />
      {state}
    </span>
  );
}
