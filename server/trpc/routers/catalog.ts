import { listFlavors, listImages } from '../../catalog';
import { z } from 'zod';
import { getQuotaSummary, quotaResources } from '../../quotas';
import { createQuotaRequest, listQuotaRequests } from '../../quotas/requests';
import { router, tenantProcedure } from '../init';

export const imagesRouter = router({
  list: tenantProcedure.query(({ ctx }) => listImages(ctx.db)),
});

export const flavorsRouter = router({
  list: tenantProcedure.query(({ ctx }) => listFlavors(ctx.db)),
});

export const quotasRouter = router({
  get: tenantProcedure.query(({ ctx }) => getQuotaSummary(ctx.db, ctx.tenant.id)),
});

export const quotaRequestsRouter = router({
  create: tenantProcedure
    .meta({ minRole: 'owner' })
    .input(
      z.object({
        resource: z.enum(quotaResources, 'Choose a resource.'),
        limit: z.int('Enter a whole number.').min(0, 'The limit cannot be negative.').max(1_000_000_000, 'That limit is too large.'),
        reason: z.string().trim().min(10, 'Tell the administrators why, in a sentence or two.').max(1000),
      }),
    )
    .mutation(({ ctx, input }) => createQuotaRequest(ctx.db, ctx.actor, ctx.tenant.id, input)),
  list: tenantProcedure.query(({ ctx }) => listQuotaRequests(ctx.db, ctx.tenant.id)),
});
