import type { StateProgress } from '../hypervisor';

/**
 * A driver's progress callback that writes (`write`: an update of the row
 * the tenant watches) at most every `everyMs`, and always the last step.
 * Writes are fire-and-forget: a lost one is made good by the next.
 */
export function throttledProgress(write: (p: StateProgress) => Promise<unknown>, everyMs = 500): (p: StateProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < everyMs && p.doneBytes < p.totalBytes) return;
    last = now;
    void write({ doneBytes: p.doneBytes, totalBytes: p.totalBytes }).catch(() => undefined);
  };
}
