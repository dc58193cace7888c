import { z } from 'zod';
import { getSettings, setSetting } from '../../settings';
import { adminProcedure, router } from '../init';
import { adminPricesRouter, adminRevenueRouter } from './billing';

const settingsRouter = router({
  get: adminProcedure.query(({ ctx }) => getSettings(ctx.db)),
  setSignupEnabled: adminProcedure
    .input(z.object({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) => setSetting(ctx.db, ctx.actor, 'signupEnabled', input.enabled)),
});

export const adminRouter = router({
  settings: settingsRouter,
  prices: adminPricesRouter,
  revenue: adminRevenueRouter,
});
