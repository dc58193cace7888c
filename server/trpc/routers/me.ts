import { listTenantsForUser } from '../../tenants/tenants';
import { authedProcedure, router } from '../init';

export const meRouter = router({
  get: authedProcedure.query(async ({ ctx }) => ({
    user: ctx.user,
    tenants: await listTenantsForUser(ctx.db, ctx.user.id),
  })),
});
