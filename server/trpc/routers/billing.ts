import { z } from 'zod';
import { priceInput, listPrices, setPrices } from '../../billing/prices';
import { billingSummary, estimate, getBudget, invoice, ledger, monthSchema, setBudget } from '../../billing/summary';
import { revenueByTenant } from '../../billing/revenue';
import { LIMITS } from '../../instances/validation';
import { DEFAULT_RATE_MBIT, RATE_LIMITS } from '../../network/validation';
import { adminProcedure, router, tenantProcedure } from '../init';

const size = z.object({
  vcpus: z.int().min(LIMITS.vcpus.min).max(LIMITS.vcpus.max),
  memoryMiB: z.int().min(LIMITS.memoryMiB.min).max(LIMITS.memoryMiB.max),
  diskGiB: z.int().min(LIMITS.diskGiB.min).max(LIMITS.diskGiB.max),
  nics: z.int().min(LIMITS.nics.min).max(LIMITS.nics.max),
  /** The NICs' rates added up (billed while running); 100 Mbit/s per NIC when omitted. */
  bandwidthMbit: z.int().min(0).max(LIMITS.nics.max * RATE_LIMITS.max).optional(),
});

const period = z
  .object({ from: z.date(), to: z.date() })
  .refine((p) => p.from < p.to, 'The period must end after it starts.')
  .refine((p) => p.to.getTime() - p.from.getTime() <= 400 * 86_400_000, 'Ask for at most 400 days at a time.');

export const billingRouter = router({
  summary: tenantProcedure.query(({ ctx }) => billingSummary(ctx.db, ctx.tenant.id)),
  invoice: tenantProcedure.input(z.object({ month: monthSchema })).query(({ ctx, input }) => invoice(ctx.db, ctx.tenant.id, input.month)),
  ledger: tenantProcedure.input(period).query(({ ctx, input }) => ledger(ctx.db, ctx.tenant.id, input.from, input.to)),
  estimate: tenantProcedure
    .input(size)
    .query(({ ctx, input }) => estimate(ctx.db, { ...input, bandwidthMbit: input.bandwidthMbit ?? input.nics * DEFAULT_RATE_MBIT })),
  budget: router({
    get: tenantProcedure.query(({ ctx }) => getBudget(ctx.db, ctx.tenant.id)),
    set: tenantProcedure
      .meta({ minRole: 'owner' })
      .input(z.object({ monthlyMicro: z.int().min(0).max(1e15).nullable(), hardCap: z.boolean().default(false) }))
      .mutation(({ ctx, input }) => setBudget(ctx.db, ctx.actor, ctx.tenant.id, input)),
  }),
});

export const adminRevenueRouter = router({
  list: adminProcedure.input(z.object({ month: monthSchema })).query(({ ctx, input }) => revenueByTenant(ctx.db, input.month)),
});

export const adminPricesRouter = router({
  list: adminProcedure.query(({ ctx }) => listPrices(ctx.db)),
  set: adminProcedure.input(priceInput).mutation(({ ctx, input }) => setPrices(ctx.db, ctx.actor, input)),
});
