import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { domainErrorCodes } from '../server/errors';
import { CliError, describeFailure, EXIT, EXIT_CODES_HELP, exitCodeForReason, UnreachableError } from './exit-codes';

/** A client error as tRPC builds it from the server's error shape (server/trpc/init.ts). */
const serverError = (reason: string, message: string, code = -32600) =>
  TRPCClientError.from({ error: { code, message, data: { code: 'X', httpStatus: 400, path: 'instances.launch', reason, fieldErrors: null, requestId: 'r' } } });

describe('exit codes', () => {
  it('map every domain code the server has to a documented code', () => {
    const expected: Record<keyof typeof domainErrorCodes, number> = {
      INVALID_INPUT: 2,
      UNAUTHORIZED: 3,
      FORBIDDEN: 3,
      SIGNUP_DISABLED: 3,
      NOT_FOUND: 4,
      QUOTA_EXCEEDED: 5,
      BUDGET_EXCEEDED: 5,
      INSUFFICIENT_CAPACITY: 5,
      INVALID_STATE: 6,
      CONFLICT: 6,
      LAST_OWNER: 6,
    };
    for (const code of Object.keys(domainErrorCodes) as (keyof typeof domainErrorCodes)[]) expect(exitCodeForReason(code), code).toBe(expected[code]);
    expect(exitCodeForReason('BAD_REQUEST')).toBe(2);
    expect(exitCodeForReason('INTERNAL')).toBe(1);
    expect(exitCodeForReason(undefined)).toBe(1);
  });

  it('are all in the help', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });
});

describe('failures', () => {
  it('show the server’s sentence with the code of its reason', () => {
    const msg = 'Launching this instance needs 1 more instance than the quota of 1 allows.';
    expect(describeFailure(serverError('QUOTA_EXCEEDED', msg))).toEqual({ message: msg, exitCode: EXIT.refused });
    expect(describeFailure(serverError('NOT_FOUND', 'Instance i-0 was not found.'))).toEqual({ message: 'Instance i-0 was not found.', exitCode: 4 });
    expect(describeFailure(serverError('INVALID_STATE', 'web (i-1): A stopped instance cannot be stopped.')).exitCode).toBe(6);
  });

  it('say how to sign in when the token is refused', () => {
    const f = describeFailure(serverError('UNAUTHORIZED', 'Sign in to continue.'));
    expect(f.exitCode).toBe(3);
    expect(f.message).toMatch(/refused the token.*cirrus login/);
  });

  it('find an unreachable server anywhere in the cause chain', () => {
    const err = TRPCClientError.from(new UnreachableError('Cannot reach the Cirrus server at http://x: connection refused.'));
    expect(describeFailure(err)).toEqual({ message: 'Cannot reach the Cirrus server at http://x: connection refused.', exitCode: 8 });
  });

  it('keep their own sentence and code when the CLI made them', () => {
    expect(describeFailure(new CliError('Timed out.', EXIT.timeout))).toEqual({ message: 'Timed out.', exitCode: 7 });
  });

  it('show an unexpected error’s message, never its stack', () => {
    const f = describeFailure(new TypeError('x is not a function'));
    expect(f).toEqual({ message: 'Unexpected error: x is not a function', exitCode: 1 });
  });
});
