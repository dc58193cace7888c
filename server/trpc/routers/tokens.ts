import { z } from 'zod';
import { createToken, listTokens, revokeToken, tokenNameSchema } from '../../tokens';
import { authedProcedure, router } from '../init';

export const tokensRouter = router({
  list: authedProcedure.query(({ ctx }) => listTokens(ctx.db, ctx.user.id)),
  create: authedProcedure
    .input(z.object({ name: tokenNameSchema }))
    .mutation(({ ctx, input }) => createToken(ctx.db, ctx.actor, input)),
  revoke: authedProcedure
    .input(z.object({ id: z.uuid() }))
    .mutation(({ ctx, input }) => revokeToken(ctx.db, ctx.actor, input)),
});
