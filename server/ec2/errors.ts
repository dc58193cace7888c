import { DomainError, type DomainErrorCode } from '../errors';

/** An error an EC2 client understands: its code, a sentence, and the HTTP status AWS gives it. */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = statusOf(code),
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

function statusOf(code: string): number {
  if (code === 'AuthFailure' || code === 'SignatureDoesNotMatch' || code === 'IncompleteSignature') return 401;
  if (code === 'UnauthorizedOperation') return 403;
  if (code === 'InternalError') return 500;
  return 400;
}

/** What each action calls a thing it cannot find, and a limit it meets. */
export type Nouns = { notFound?: string; limit?: string };

const generic: Record<DomainErrorCode, string> = {
  NOT_FOUND: 'InvalidParameterValue',
  FORBIDDEN: 'UnauthorizedOperation',
  UNAUTHORIZED: 'AuthFailure',
  CONFLICT: 'InvalidParameterValue',
  INVALID_INPUT: 'InvalidParameterValue',
  INVALID_STATE: 'IncorrectState',
  SIGNUP_DISABLED: 'UnauthorizedOperation',
  LAST_OWNER: 'UnauthorizedOperation',
  QUOTA_EXCEEDED: 'ResourceLimitExceeded',
  INSUFFICIENT_CAPACITY: 'InsufficientInstanceCapacity',
  BUDGET_EXCEEDED: 'UnauthorizedOperation',
};

/** A domain refusal in EC2's words; anything else is left for the handler to report as InternalError. */
export function fromDomain(err: unknown, nouns: Nouns = {}): unknown {
  if (!(err instanceof DomainError)) return err;
  const code =
    err.code === 'NOT_FOUND' && nouns.notFound ? nouns.notFound : err.code === 'QUOTA_EXCEEDED' && nouns.limit ? nouns.limit : generic[err.code];
  return new Ec2Error(code, err.message);
}
