import { z } from 'zod';
import { setInterfaceRate } from '../../network/bandwidth';
import { instanceInterfaces } from '../../network/interfaces';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, proposeNetworkCidr } from '../../network/networks';
import { createPortForward, deletePortForward, listPortForwards } from '../../network/port-forwards';
import { createNetworkInput, createPortForwardInput, networkIdSchema, rateSchema } from '../../network/validation';
import { instanceIdSchema } from '../../instances/validation';
import { getCompute } from '../../runtime/compute';
import { getSetting } from '../../settings';
import { router, tenantProcedure } from '../init';

const byNetwork = z.object({ networkId: networkIdSchema });

export const networksRouter = router({
  list: tenantProcedure.query(({ ctx }) => listNetworks(ctx.db, ctx.tenant.id)),
  get: tenantProcedure.input(byNetwork).query(({ ctx, input }) => getNetwork(ctx.db, ctx.tenant.id, input.networkId)),
  /** The range the create form proposes (the first free /24). */
  proposeCidr: tenantProcedure.query(async ({ ctx }) => ({ cidr: await proposeNetworkCidr(ctx.db, ctx.tenant.id) })),
  create: tenantProcedure.input(createNetworkInput).mutation(({ ctx, input }) => createNetwork(ctx.db, ctx.actor, ctx.tenant.id, input)),
  delete: tenantProcedure.input(byNetwork).mutation(({ ctx, input }) => deleteNetwork(ctx.db, ctx.actor, ctx.tenant.id, input.networkId)),
});

export const portForwardsRouter = router({
  /** The host ports forwards are allocated from (an administrator's setting). */
  range: tenantProcedure.query(async ({ ctx }) => getSetting(ctx.db, 'portForwardRange')),
  list: tenantProcedure
    .input(z.object({ instanceId: instanceIdSchema.optional() }))
    .query(({ ctx, input }) => listPortForwards(ctx.db, ctx.tenant.id, input.instanceId)),
  create: tenantProcedure.input(createPortForwardInput).mutation(({ ctx, input }) => {
    const { tenantId: _t, ...rest } = input;
    return createPortForward(ctx.db, ctx.actor, ctx.tenant.id, rest);
  }),
  delete: tenantProcedure
    .input(z.object({ portForwardId: z.uuid('Unknown port forward.') }))
    .mutation(({ ctx, input }) => deletePortForward(ctx.db, ctx.actor, ctx.tenant.id, input.portForwardId)),
});

/** The NICs of an instance (merged into `instances`). */
export const interfaceProcedures = {
  interfaces: tenantProcedure.input(z.object({ instanceId: instanceIdSchema })).query(({ ctx, input }) => {
    const compute = getCompute();
    return instanceInterfaces(ctx.db, ctx.tenant.id, input.instanceId, compute ? { id: compute.hostId, network: compute.network } : null);
  }),
  setInterfaceRate: tenantProcedure
    .input(z.object({ instanceId: instanceIdSchema, interfaceId: z.uuid('Unknown network interface.'), rateMbit: rateSchema }))
    .mutation(({ ctx, input }) => setInterfaceRate(ctx.db, ctx.actor, ctx.tenant.id, input)),
};
