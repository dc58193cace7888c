import { ilike, or, type AnyColumn, type SQL } from 'drizzle-orm';

/** `text` with LIKE's wildcards escaped, so a user's `%` or `_` matches itself. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Any of `columns` contains `text`, case-insensitively. */
export function containsAny(text: string, first: AnyColumn, ...more: AnyColumn[]): SQL {
  const pattern = `%${escapeLike(text)}%`;
  return or(ilike(first, pattern), ...more.map((c) => ilike(c, pattern)))!;
}
