// `instances console --follow` asks for the tail of the serial log (the last
// 64 KiB) again and again; this says what is new in the latest tail.

/** Too short an overlap is a coincidence, not the same log moved on. */
const MIN_OVERLAP = 32;

/**
 * The text `next` adds to `prev`, both tails of one growing log: `next` is
 * `prev` with its start cut off (once the log passed the tail size) and new
 * text appended. When they do not line up (the log started again, or moved
 * on by more than a whole tail), all of `next` is new.
 */
export function newSerialText(prev: string, next: string): string {
  if (!prev) return next;
  if (!next) return '';
  // Cutting the tail at a byte boundary can leave half a character first.
  const body = next.replace(/^\uFFFD{1,3}/, '');
  if (body.startsWith(prev)) return body.slice(prev.length);
  for (let cut = 1; cut < prev.length; cut++) {
    const rest = prev.length - cut;
    if (rest < Math.min(MIN_OVERLAP, prev.length)) break;
    if (body.startsWith(prev.slice(cut))) return body.slice(rest);
  }
  return next;
}
