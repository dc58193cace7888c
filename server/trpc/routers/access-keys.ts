import { z } from 'zod';
import { accessKeyNameSchema, createAccessKey, listAccessKeys, revokeAccessKey } from '../../ec2/access-keys';
import { router, tenantProcedure } from '../init';

/**
 * A user's access keys for the EC2 API, per tenant. A viewer may hold one
 * too: requests signed with it can do what a viewer can, and no more.
 */
export const accessKeysRouter = router({
  list: tenantProcedure.query(({ ctx }) => listAccessKeys(ctx.db, ctx.tenant.id, ctx.user.id)),
  create: tenantProcedure
    .meta({ minRole: 'viewer' })
    .input(z.object({ name: accessKeyNameSchema }))
    .mutation(({ ctx, input }) => createAccessKey(ctx.db, ctx.actor, ctx.tenant.id, input)),
  revoke: tenantProcedure
    .meta({ minRole: 'viewer' })
    .input(z.object({ id: z.uuid('Unknown access key.') }))
    .mutation(({ ctx, input }) => revokeAccessKey(ctx.db, ctx.actor, ctx.tenant.id, input)),
});
