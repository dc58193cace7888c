// What `cirrus` exits with, and how a failure becomes one sentence and one of
// these codes. Scripts rely on the numbers: never renumber, only add.

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  refused: 5,
  conflict: 6,
  timeout: 7,
  unreachable: 8,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** For `cirrus --help` and cli/README.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  unexpected error, or an instance went into the error state while waiting
  2  usage: bad flags or arguments, or input the server refused (INVALID_INPUT)
  3  not signed in, or the token was refused (UNAUTHORIZED, FORBIDDEN)
  4  not found (NOT_FOUND)
  5  refused by quota, budget or capacity (QUOTA_EXCEEDED, BUDGET_EXCEEDED, INSUFFICIENT_CAPACITY)
  6  conflict or wrong state (INVALID_STATE, CONFLICT), or no way in for ssh
  7  timed out waiting for a state
  8  the server could not be reached, or did not answer as Cirrus`;

/** A failure the CLI explains itself: one sentence for stderr and its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

/** The server could not be reached, or what answered is not a Cirrus API. */
export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

const byReason: Record<string, ExitCode> = {
  INVALID_INPUT: EXIT.usage,
  BAD_REQUEST: EXIT.usage,
  PARSE_ERROR: EXIT.usage,
  UNAUTHORIZED: EXIT.auth,
  FORBIDDEN: EXIT.auth,
  SIGNUP_DISABLED: EXIT.auth,
  NOT_FOUND: EXIT.notFound,
  QUOTA_EXCEEDED: EXIT.refused,
  BUDGET_EXCEEDED: EXIT.refused,
  INSUFFICIENT_CAPACITY: EXIT.refused,
  INVALID_STATE: EXIT.conflict,
  CONFLICT: EXIT.conflict,
  LAST_OWNER: EXIT.conflict,
  TIMEOUT: EXIT.timeout,
};

/** The exit code for a server error's `data.reason` (a domain code, or the tRPC code when there is none). */
export function exitCodeForReason(reason: string | null | undefined): ExitCode {
  return (reason && byReason[reason]) || EXIT.unexpected;
}

const NOT_SIGNED_IN = 'The server refused the token (revoked, expired or mistyped): run `cirrus login --url <url>` with a token from Settings → API tokens.';

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/**
 * One sentence and an exit code for anything a command throws. tRPC errors
 * are recognised by shape (`data.reason`), not class, and show the server's
 * own sentence; anything unexpected shows its message, never a stack.
 */
export function describeFailure(err: unknown): { message: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  const unreachable = causes(err).find((e): e is UnreachableError => e instanceof Error && e.name === 'UnreachableError');
  if (unreachable) return { message: unreachable.message, exitCode: EXIT.unreachable };
  const data = (err as { data?: { reason?: unknown; code?: unknown } } | null)?.data;
  const message = err instanceof Error && err.message ? err.message : String(err);
  if (data && typeof data === 'object') {
    const reason = typeof data.reason === 'string' ? data.reason : typeof data.code === 'string' ? data.code : null;
    if (reason === 'UNAUTHORIZED') return { message: NOT_SIGNED_IN, exitCode: EXIT.auth };
    return { message, exitCode: exitCodeForReason(reason) };
  }
  return { message: `Unexpected error: ${message}`, exitCode: EXIT.unexpected };
}
