import { z } from 'zod';
import { listHosts, updateHost } from '../../admin/hosts';
import { getDefaultQuotas, setDefaultQuotas, setTenantQuota } from '../../admin/quotas';
import { listUsers, setAdmin, setDisabled } from '../../admin/users';
import { getSettings, quotaLimitsSchema, setSetting } from '../../settings';
import { adminProcedure, router } from '../init';
import { adminPricesRouter, adminRevenueRouter } from './billing';

const settingsRouter = router({
  get: adminProcedure.query(({ ctx }) => getSettings(ctx.db)),
  setSignupEnabled: adminProcedure
    .input(z.object({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) => setSetting(ctx.db, ctx.actor, 'signupEnabled', input.enabled)),
});

const usersRouter = router({
  list: adminProcedure
    .input(z.object({ search: z.string().trim().max(100).optional(), cursor: z.string().max(300).nullish(), limit: z.int().min(1).max(100).default(50) }))
    .query(({ ctx, input }) => listUsers(ctx.db, input)),
  setAdmin: adminProcedure.input(z.object({ userId: z.uuid(), isAdmin: z.boolean() })).mutation(({ ctx, input }) => setAdmin(ctx.db, ctx.actor, input)),
  disable: adminProcedure
    .input(z.object({ userId: z.uuid(), disabled: z.boolean().default(true) }))
    .mutation(({ ctx, input }) => setDisabled(ctx.db, ctx.actor, input)),
});

const ratio = (label: string) => z.int().min(10, `${label} must be at least 0.1×.`).max(10_000, `${label} must be at most 100×.`);

const hostsRouter = router({
  list: adminProcedure.query(({ ctx }) => listHosts(ctx.db)),
  update: adminProcedure
    .input(
      z.object({
        hostId: z.uuid(),
        cpuRatioPct: ratio('The CPU ratio').optional(),
        ramRatioPct: ratio('The RAM ratio').optional(),
        ramReserveMiB: z.int().min(0).max(1_048_576).optional(),
        state: z.enum(['enabled', 'maintenance']).optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateHost(ctx.db, ctx.actor, input)),
});

const quotasRouter = router({
  getDefaults: adminProcedure.query(({ ctx }) => getDefaultQuotas(ctx.db)),
  setDefaults: adminProcedure.input(quotaLimitsSchema).mutation(({ ctx, input }) => setDefaultQuotas(ctx.db, ctx.actor, input)),
  set: adminProcedure
    .input(z.object({ tenantId: z.uuid(), limits: quotaLimitsSchema.partial().refine((l) => Object.keys(l).length > 0, 'Set at least one limit.') }))
    .mutation(({ ctx, input }) => setTenantQuota(ctx.db, ctx.actor, input)),
});

export const adminRouter = router({
  settings: settingsRouter,
  prices: adminPricesRouter,
  revenue: adminRevenueRouter,
  users: usersRouter,
  hosts: hostsRouter,
  quotas: quotasRouter,
});
