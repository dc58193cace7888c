import { z } from 'zod';
import { instanceIdSchema } from '../../instances/validation';
import { listSnapshots, requestDeleteSnapshot, requestRestore, requestSnapshot } from '../../snapshots/snapshots';
import { createSnapshotInput, snapshotIdSchema } from '../../snapshots/validation';
import { router, tenantProcedure } from '../init';

const bySnapshot = z.object({ snapshotId: snapshotIdSchema });

export const snapshotsRouter = router({
  list: tenantProcedure.input(z.object({ instanceId: instanceIdSchema })).query(({ ctx, input }) => listSnapshots(ctx.db, ctx.tenant.id, input.instanceId)),
  create: tenantProcedure
    .input(createSnapshotInput)
    .mutation(({ ctx, input }) => requestSnapshot(ctx.db, ctx.actor, ctx.tenant.id, { instanceId: input.instanceId, name: input.name, withMemory: input.withMemory })),
  restore: tenantProcedure.input(bySnapshot).mutation(({ ctx, input }) => requestRestore(ctx.db, ctx.actor, ctx.tenant.id, input.snapshotId)),
  delete: tenantProcedure.input(bySnapshot).mutation(({ ctx, input }) => requestDeleteSnapshot(ctx.db, ctx.actor, ctx.tenant.id, input.snapshotId)),
});
