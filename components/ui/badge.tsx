import type { ReactNode } from 'react';

const tones = {
  red: 'bg-red-100 text-red-900',
  amber: 'bg-amber-100 text-amber-900',
  emerald: 'bg-emerald-100 text-emerald-900',
  sky: 'bg-sky-100 text-sky-900',
  slate: 'bg-slate-200 text-slate-800',
} as const;

/** A short state word (active, suspended, admin, in force…) on a tinted ground. */
export function Badge({ tone, title, className = '', children }: { tone: keyof typeof tones; title?: string; className?: string; children: ReactNode }) {
  return (
    <span title={title} className={`rounded px-1.5 py-0.5 text-xs font-normal whitespace-nowrap ${tones[tone]} ${className}`}>
      {children}
    </span>
  );
}
