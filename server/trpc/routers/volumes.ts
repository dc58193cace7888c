import { z } from 'zod';
import { instanceIdSchema } from '../../instances/validation';
import { getVolume, listVolumes, requestAttach, requestCreateVolume, requestDeleteVolume, requestDetach } from '../../storage/volumes';
import { attachVolumeInput, createVolumeInput, volumeIdSchema } from '../../storage/validation';
import { router, tenantProcedure } from '../init';

const byVolume = z.object({ volumeId: volumeIdSchema });

export const volumesRouter = router({
  list: tenantProcedure
    .input(z.object({ instanceId: instanceIdSchema.optional(), cursor: volumeIdSchema.nullish(), limit: z.int().min(1).max(100).default(50) }))
    .query(({ ctx, input }) => listVolumes(ctx.db, ctx.tenant.id, input)),
  get: tenantProcedure.input(byVolume).query(({ ctx, input }) => getVolume(ctx.db, ctx.tenant.id, input.volumeId)),
  create: tenantProcedure.input(createVolumeInput).mutation(({ ctx, input }) => requestCreateVolume(ctx.db, ctx.actor, ctx.tenant.id, input)),
  attach: tenantProcedure.input(attachVolumeInput).mutation(({ ctx, input }) => requestAttach(ctx.db, ctx.actor, ctx.tenant.id, input)),
  detach: tenantProcedure.input(byVolume).mutation(({ ctx, input }) => requestDetach(ctx.db, ctx.actor, ctx.tenant.id, input)),
  delete: tenantProcedure.input(byVolume).mutation(({ ctx, input }) => requestDeleteVolume(ctx.db, ctx.actor, ctx.tenant.id, input.volumeId)),
});
