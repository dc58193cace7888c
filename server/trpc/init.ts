// 1. Context and error shape · 2. Audit of refusals and latency · 3. Procedure builders.
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import { processMetrics } from '../metrics/registry';
import { roleAtLeast, type Role } from '../tenants/roles';
import { findMembership } from '../tenants/tenants';
import type { Context } from './context';
import { formatError, toTRPCError } from './errors';

export type Meta = {
  /** Least tenant role a tenant procedure needs. Default: viewer for queries, member for mutations. */
  minRole?: Role;
};

// ---------------------------------------------------------------- 1. context and error shape
const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error, ctx }) {
      const { message, data } = formatError(error, ctx?.requestId ?? null);
      if (data.reason === 'INTERNAL') console.error(`[trpc] request ${data.requestId}:`, error.cause ?? error);
      return { ...shape, message, data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...data } };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export function actorOf(ctx: Context): Actor {
  return ctx.user
    ? { kind: 'user', userId: ctx.user.id, email: ctx.user.email, isAdmin: ctx.user.isAdmin, requestId: ctx.requestId }
    : { kind: 'system', requestId: ctx.requestId };
}

// ---------------------------------------------------------------- 2. errors, audit of failures, latency
/**
 * Domain errors become tRPC errors here. A refused or failed mutation is
 * audited (the successful ones are audited by their domain function, inside
 * the transaction of the change).
 */
const errorsAndAudit = t.middleware(async ({ ctx, next, type, path, getRawInput }) => {
  const result = await next();
  if (result.ok) return result;
  const error = toTRPCError(result.error.cause ?? result.error);
  const trpcError = error instanceof TRPCError ? error : result.error;
  if (type === 'mutation' && ctx.user) {
    const raw = (await getRawInput().catch(() => null)) as { tenantId?: unknown } | null;
    const tenantId = typeof raw?.tenantId === 'string' && z.uuid().safeParse(raw.tenantId).success ? raw.tenantId : null;
    await recordAudit(ctx.db, actorOf(ctx), {
      action: path,
      tenantId,
      outcome: 'failure',
      detail: { code: trpcError.code, message: trpcError.message.slice(0, 300) },
    }).catch((e) => console.error('[audit] could not record a failure:', e));
  }
  return { ...result, error: trpcError };
});

/**
 * Every call's duration, by procedure and outcome (ok or the tRPC code the
 * client sees). Outermost, so it times the whole call and reads the mapped
 * error; only router procedures get here, so the labels are bounded by them.
 */
const timed = t.middleware(async ({ path, next }) => {
  const started = performance.now();
  const result = await next();
  processMetrics().trpcRequestDuration.observe({ procedure: path, outcome: result.ok ? 'ok' : result.error.code }, (performance.now() - started) / 1000);
  return result;
});

const base = t.procedure.use(timed).use(errorsAndAudit);

// ---------------------------------------------------------------- 3. procedure builders
export const publicProcedure = base;

export const authedProcedure = base.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  const user = ctx.user;
  const actor = { kind: 'user' as const, userId: user.id, email: user.email, isAdmin: user.isAdmin, requestId: ctx.requestId };
  return next({ ctx: { user, actor } });
});

/**
 * Input carries `tenantId`; the caller must be a member with at least
 * `meta.minRole` (viewer for queries, member for mutations when unset).
 * A non-member is told the tenant does not exist, so ids cannot be probed.
 */
export const tenantProcedure = authedProcedure
  .input(z.object({ tenantId: z.uuid('Unknown tenant id.') }))
  .use(async ({ ctx, input, meta, type, next }) => {
    const membership = await findMembership(ctx.db, ctx.user.id, { tenantId: input.tenantId });
    if (!membership) throw new TRPCError({ code: 'NOT_FOUND', message: 'Tenant not found.' });
    if (membership.suspendedAt && type !== 'query') {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `${membership.name} is suspended${membership.suspendReason ? `: ${membership.suspendReason}` : ''}. Nothing can be changed until an administrator reactivates it.`,
      });
    }
    const needed = meta?.minRole ?? (type === 'query' ? 'viewer' : 'member');
    if (!roleAtLeast(membership.role, needed)) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `This needs the ${needed} role in ${membership.name}; you are a ${membership.role}.`,
      });
    }
    return next({ ctx: { tenant: { id: membership.id, slug: membership.slug, name: membership.name }, role: membership.role } });
  });

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.isAdmin) throw new TRPCError({ code: 'FORBIDDEN', message: 'Only platform administrators can do this.' });
  return next();
});
