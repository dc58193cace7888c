import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { DomainError, type DomainErrorCode } from '../errors';

const transportCode: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHORIZED: 'UNAUTHORIZED',
  CONFLICT: 'CONFLICT',
  INVALID_INPUT: 'BAD_REQUEST',
  INVALID_STATE: 'CONFLICT',
  SIGNUP_DISABLED: 'FORBIDDEN',
  LAST_OWNER: 'CONFLICT',
  QUOTA_EXCEEDED: 'FORBIDDEN',
  INSUFFICIENT_CAPACITY: 'CONFLICT',
  BUDGET_EXCEEDED: 'FORBIDDEN',
};

/** Turn a domain error into the tRPC error that carries it (cause keeps the code and field). */
export function toTRPCError(err: unknown): unknown {
  if (err instanceof DomainError) {
    return new TRPCError({ code: transportCode[err.code], message: err.message, cause: err });
  }
  return err;
}

type ZodLikeIssue = { path: PropertyKey[]; message: string };
function zodIssues(cause: unknown): ZodLikeIssue[] | null {
  if (cause && typeof cause === 'object' && 'issues' in cause && Array.isArray(cause.issues)) {
    return cause.issues as ZodLikeIssue[];
  }
  return null;
}

/** What the client gets in `error.data` besides tRPC's own fields. */
export type ErrorData = {
  /** The domain code (QUOTA_EXCEEDED, …) or the tRPC code when there is none. */
  reason: string;
  /** Messages per input field, for forms. */
  fieldErrors: Record<string, string[]> | null;
  requestId: string | null;
};

/**
 * Shape every error a client sees: a readable sentence, a reason code and
 * field errors. Unexpected errors are logged with the request id and never
 * leak their message or stack.
 */
export function formatError(error: TRPCError, requestId: string | null): { message: string; data: ErrorData } {
  const cause = error.cause;
  if (cause instanceof DomainError) {
    return {
      message: cause.message,
      data: { reason: cause.code, fieldErrors: cause.field ? { [cause.field]: [cause.message] } : null, requestId },
    };
  }
  const issues = error.code === 'BAD_REQUEST' ? zodIssues(cause) : null;
  if (issues) {
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of issues) {
      const key = issue.path.map(String).join('.') || '_';
      (fieldErrors[key] ??= []).push(issue.message);
    }
    const first = issues[0];
    const where = first && first.path.length ? `${first.path.map(String).join('.')}: ` : '';
    return {
      message: first ? `${where}${first.message}` : 'The request was not valid.',
      data: { reason: 'INVALID_INPUT', fieldErrors, requestId },
    };
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    return {
      message: `Something went wrong on our side. If it keeps happening, report request ${requestId ?? 'unknown'}.`,
      data: { reason: 'INTERNAL', fieldErrors: null, requestId },
    };
  }
  return { message: error.message, data: { reason: error.code, fieldErrors: null, requestId } };
}
