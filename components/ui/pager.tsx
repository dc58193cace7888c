'use client';

import { useState } from 'react';
import { Button } from './button';

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
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    /** Back to the first page (filters changed). */
    reset: () => setCursors([null]),
  };
}

export type KeysetPages = ReturnType<typeof useKeysetPages>;

/** Previous / Page N / Next under a paged list. `nextCursor` undefined: still loading. */
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
      <Button variant="secondary" disabledReason={pages.number === 1 ? firstReason : undefined} onClick={pages.previous}>
        Previous
      </Button>
      <span className="text-sm text-slate-600">Page {pages.number}</span>
      <Button
        variant="secondary"
        disabledReason={nextCursor === null ? lastReason : undefined}
        disabled={nextCursor === undefined}
        onClick={() => nextCursor && pages.next(nextCursor)}
      >
        Next
      </Button>
    </nav>
  );
}
