import { listFlavors, listImages } from '../../catalog';
import { getQuotaSummary } from '../../quotas';
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
