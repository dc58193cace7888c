// The PostgreSQL error under whatever wraps it (drizzle puts the driver's error in `cause`).
export type PgError = { code: string; constraint: string | null; detail: string | null };

/** The SQLSTATE and constraint of a database error, or null when `err` is not one. */
export function pgError(err: unknown): PgError | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint, detail } = e as { code?: unknown; constraint?: unknown; detail?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return { code, constraint: typeof constraint === 'string' ? constraint : null, detail: typeof detail === 'string' ? detail : null };
    }
  }
  return null;
}

/** A unique (23505) or exclusion (23P01) violation of `constraint`. */
export function violates(err: unknown, constraint: string): boolean {
  const e = pgError(err);
  return !!e && (e.code === '23505' || e.code === '23P01') && e.constraint === constraint;
}
