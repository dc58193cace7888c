import { listFlavors } from '../../catalog';
import { listLaunchableImages, listOwnImages, requestDeleteImage, requestImage } from '../../images/images';
import { capturedImageIdSchema, createImageInput } from '../../images/validation';
import { z } from 'zod';
import { getQuotaSummary, quotaResources } from '../../quotas';
import { createQuotaRequest, listQuotaRequests } from '../../quotas/requests';
import { router, tenantProcedure } from '../init';

export const imagesRouter = router({
  /** What the tenant may launch: built images, its own and published ones. */
  list: tenantProcedure.query(({ ctx }) => listLaunchableImages(ctx.db, ctx.tenant.id)),
  /** The tenant's own captured images, in every state. */
  own: tenantProcedure.query(({ ctx }) => listOwnImages(ctx.db, ctx.tenant.id)),
  create: tenantProcedure.input(createImageInput).mutation(({ ctx, input }) => requestImage(ctx.db, ctx.actor, ctx.tenant.id, input)),
  delete: tenantProcedure.input(z.object({ imageId: capturedImageIdSchema })).mutation(({ ctx, input }) => requestDeleteImage(ctx.db, ctx.actor, ctx.tenant.id, input.imageId)),
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
