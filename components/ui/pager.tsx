'use client';

import { useId, useState, type ReactNode } from 'react';

/**
 * Keyset pages: the cursor of every page seen so far (null opens the first),
 * so Previous goes back without the server keeping anything.
 */
export function useKeysetPages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    cursor: cursors[cursors.length - 1] ?? null,
    /** 1-based. */
    number: cursors.length,
    /** A repeated cursor (a double click before the page arrived) is ignored. */
    next: (cursor: string) => setCursors((c) => (c[c.length - 1] === cursor ? c : [...c, cursor])),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    /** Back to the first page (filters changed). */
    reset: () => setCursors([null]),
  };
}

export type KeysetPages = ReturnType<typeof useKeysetPages>;

/**
 * A pager button that is never natively disabled: a focused button that
 * became `disabled` (on the last page, or while the next one loads) would drop
 * keyboard focus to the page. It says why it does nothing instead.
 */
function PagerButton({ unavailable, onClick, children }: { unavailable?: string; onClick: () => void; children: ReactNode }) {
  const reasonId = useId();
  return (
    <span className="relative inline-flex">
      <button
        type="button"
        aria-disabled={unavailable ? true : undefined}
        aria-describedby={unavailable ? reasonId : undefined}
        title={unavailable}
        onClick={() => unavailable || onClick()}
        className="inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 aria-disabled:cursor-not-allowed aria-disabled:text-slate-400 aria-disabled:hover:bg-white"
      >
        {children}
      </button>
      <span id={reasonId} className="sr-only">
        {unavailable}
      </span>
    </span>
  );
}

/** Previous / Page N / Next under a paged list. `nextCursor` undefined: the page is still loading. */
export function Pager({
  label,
  pages,
  nextCursor,
  firstReason = 'This is the first page.',
  lastReason = 'This is the last page.',
}: {
  label: string;
  pages: KeysetPages;
  nextCursor: string | null | undefined;
  firstReason?: string;
  lastReason?: string;
}) {
  return (
    <nav aria-label={label} className="flex items-center justify-between gap-2">
      <PagerButton unavailable={pages.number === 1 ? firstReason : undefined} onClick={pages.previous}>
        Previous
      </PagerButton>
      <span role="status" className="text-sm text-slate-600">
        Page {pages.number}
      </span>
      <PagerButton
        unavailable={nextCursor === null ? lastReason : nextCursor === undefined ? 'The page is loading.' : undefined}
        onClick={() => nextCursor && pages.next(nextCursor)}
      >
        Next
      </PagerButton>
    </nav>
  );
}
