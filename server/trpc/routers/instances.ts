import { z } from 'zod';
import { requestInstanceAction } from '../../instances/actions';
import { cloneInstance } from '../../instances/clone';
import { launchQueued } from '../../instances/launch-queue';
import { getInstance, listInstanceEvents, listInstances } from '../../instances/queries';
import { guestInfoOf, serialLogOf } from '../../instances/console';
import { cloneInput, instanceIdSchema, launchInput, listInput, resizeInput } from '../../instances/validation';
import { requestResize } from '../../instances/resize';
import { instanceMetrics, metricsInput } from '../../metrics/monitoring';
import { router, tenantProcedure } from '../init';
import { interfaceProcedures } from './networks';

const byId = z.object({ instanceId: instanceIdSchema });

export const instancesRouter = router({
  launch: tenantProcedure.input(launchInput).mutation(({ ctx, input }) => {
    const { tenantId: _t, ...spec } = input;
    return launchQueued(ctx.db, ctx.actor, ctx.tenant.id, spec);
  }),
  clone: tenantProcedure.input(cloneInput).mutation(({ ctx, input }) => cloneInstance(ctx.db, ctx.actor, ctx.tenant.id, input)),
  resize: tenantProcedure.input(resizeInput).mutation(({ ctx, input }) => requestResize(ctx.db, ctx.actor, ctx.tenant.id, input)),
  list: tenantProcedure.input(listInput).query(({ ctx, input }) => listInstances(ctx.db, ctx.tenant.id, input)),
  get: tenantProcedure.input(byId).query(({ ctx, input }) => getInstance(ctx.db, ctx.tenant.id, input.instanceId)),
  events: tenantProcedure.input(byId).query(({ ctx, input }) => listInstanceEvents(ctx.db, ctx.tenant.id, input.instanceId)),
  serialLog: tenantProcedure.input(byId).query(({ ctx, input }) => serialLogOf(ctx.db, ctx.tenant.id, input.instanceId)),
  guestInfo: tenantProcedure.input(byId).query(({ ctx, input }) => guestInfoOf(ctx.db, ctx.tenant.id, input.instanceId)),
  metrics: tenantProcedure.input(metricsInput).query(({ ctx, input }) => instanceMetrics(ctx.db, ctx.tenant.id, input)),
  start: tenantProcedure.input(byId).mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'start')),
  stop: tenantProcedure
    .input(byId.extend({ force: z.boolean().default(false) }))
    .mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'stop', { force: input.force })),
  reboot: tenantProcedure.input(byId).mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'reboot')),
  suspend: tenantProcedure.input(byId).mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'suspend')),
  resume: tenantProcedure.input(byId).mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'resume')),
  terminate: tenantProcedure
    .input(byId)
    .mutation(({ ctx, input }) => requestInstanceAction(ctx.db, ctx.actor, ctx.tenant.id, input.instanceId, 'terminate')),
  ...interfaceProcedures,
});
