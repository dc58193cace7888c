/**
 * Errors a user can cause are values with a code and a sentence they can read.
 * The tRPC layer maps each code to a transport status (server/trpc/errors.ts);
 * the UI shows the sentence beside the field (`field`) or the action.
 */
export const domainErrorCodes = {
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHORIZED: 'UNAUTHORIZED',
  CONFLICT: 'CONFLICT',
  INVALID_INPUT: 'INVALID_INPUT',
  INVALID_STATE: 'INVALID_STATE',
  SIGNUP_DISABLED: 'SIGNUP_DISABLED',
  LAST_OWNER: 'LAST_OWNER',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  INSUFFICIENT_CAPACITY: 'INSUFFICIENT_CAPACITY',
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
} as const;

export type DomainErrorCode = keyof typeof domainErrorCodes;

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The input field the error is about, when there is one (e.g. "email"). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} was not found.`);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
