import { z } from 'zod';
import { deleteKeyPair, generateKeyPair, importKeyPair, listKeyPairs } from '../../keys/key-pairs';
import { generateKeyPairInput, importKeyPairInput, keyPairIdSchema, listKeyPairsInput } from '../../keys/validation';
import { router, tenantProcedure } from '../init';

export const keyPairsRouter = router({
  list: tenantProcedure.input(listKeyPairsInput).query(({ ctx, input }) => listKeyPairs(ctx.db, ctx.tenant.id, input)),
  import: tenantProcedure.input(importKeyPairInput).mutation(({ ctx, input }) => importKeyPair(ctx.db, ctx.actor, ctx.tenant.id, input)),
  /** The private key is in this response only: Cirrus keeps no copy. */
  generate: tenantProcedure.input(generateKeyPairInput).mutation(({ ctx, input }) => generateKeyPair(ctx.db, ctx.actor, ctx.tenant.id, input)),
  delete: tenantProcedure
    .input(z.object({ keyPairId: keyPairIdSchema }))
    .mutation(({ ctx, input }) => deleteKeyPair(ctx.db, ctx.actor, ctx.tenant.id, input.keyPairId)),
});
