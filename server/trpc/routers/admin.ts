import { z } from 'zod';
import { emailSchema } from '../../accounts/validation';
import { createFlavor, deleteFlavor, listFlavorsForAdmin, listImagesForAdmin, setImageEnabled, updateFlavor } from '../../admin/catalog';
import { adminInstanceAction, listAllInstances } from '../../admin/instances';
import { listHosts, setPlacementStrategy, updateHost } from '../../admin/hosts';
import { cancelMigration, evacuateHost, migrationsOf, recentMigrations, requestMigration } from '../../cluster/migrations';
import { getPortForwardRange, listAllNetworks, setPortForwardRange } from '../../admin/networks';
import { getDefaultQuotas, setDefaultQuotas, setTenantQuota } from '../../admin/quotas';
import { createTenantForUser, getTenantForAdmin, listTenantsForAdmin, reactivateTenant, suspendTenant } from '../../admin/tenants';
import { listUsers, setAdmin, setDisabled } from '../../admin/users';
import { IMAGE_ID_PATTERN } from '../../hypervisor/images/catalog';
import { setImagePublished } from '../../images/images';
import { capturedImageIdSchema } from '../../images/validation';
import { instanceStates } from '../../instances/can';
import { flavorSpecSchema, instanceIdSchema } from '../../instances/validation';
import { adminListQuotaRequests, decideQuotaRequest } from '../../quotas/requests';
import { getSettings, placementStrategySchema, portRangeSchema, quotaLimitsSchema, setSetting } from '../../settings';
import { listPoolsForAdmin, listPoolVolumesForAdmin, poolVolumesInput, updatePool, updatePoolInput } from '../../storage/pools';
import { tenantNameSchema } from '../../tenants/tenants';
import { adminProcedure, router } from '../init';
import { adminAuditRouter } from './admin-audit';
import { adminPricesRouter, adminRevenueRouter } from './billing';

const settingsRouter = router({
  get: adminProcedure.query(({ ctx }) => getSettings(ctx.db)),
  setSignupEnabled: adminProcedure
    .input(z.object({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) => setSetting(ctx.db, ctx.actor, 'signupEnabled', input.enabled)),
});

const usersRouter = router({
  list: adminProcedure
    .input(z.object({ search: z.string().trim().max(100).optional(), cursor: z.string().max(300).nullish(), limit: z.int().min(1).max(100).default(50) }))
    .query(({ ctx, input }) => listUsers(ctx.db, input)),
  setAdmin: adminProcedure.input(z.object({ userId: z.uuid(), isAdmin: z.boolean() })).mutation(({ ctx, input }) => setAdmin(ctx.db, ctx.actor, input)),
  disable: adminProcedure
    .input(z.object({ userId: z.uuid(), disabled: z.boolean().default(true) }))
    .mutation(({ ctx, input }) => setDisabled(ctx.db, ctx.actor, input)),
});

const ratio = (label: string) => z.int().min(10, `${label} must be at least 0.1×.`).max(10_000, `${label} must be at most 100×.`);

const hostsRouter = router({
  list: adminProcedure.query(({ ctx }) => listHosts(ctx.db)),
  update: adminProcedure
    .input(
      z.object({
        hostId: z.uuid(),
        cpuRatioPct: ratio('The CPU ratio').optional(),
        ramRatioPct: ratio('The RAM ratio').optional(),
        ramReserveMiB: z.int().min(0).max(1_048_576).optional(),
        state: z.enum(['enabled', 'maintenance']).optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateHost(ctx.db, ctx.actor, input)),
  /** Maintenance, then every instance on the host moved away (live, or as a copy when stopped). */
  evacuate: adminProcedure.input(z.object({ hostId: z.uuid() })).mutation(({ ctx, input }) => evacuateHost(ctx.db, ctx.actor, input.hostId)),
  /** Moves under way, or ended within the hour, with their progress. */
  migrations: adminProcedure.query(({ ctx }) => recentMigrations(ctx.db)),
  /** Spread new instances over the hosts, or pack them onto as few as fit. */
  setPlacement: adminProcedure
    .input(z.object({ strategy: placementStrategySchema }))
    .mutation(({ ctx, input }) => setPlacementStrategy(ctx.db, ctx.actor, input.strategy)),
});

const quotasRouter = router({
  getDefaults: adminProcedure.query(({ ctx }) => getDefaultQuotas(ctx.db)),
  setDefaults: adminProcedure.input(quotaLimitsSchema).mutation(({ ctx, input }) => setDefaultQuotas(ctx.db, ctx.actor, input)),
  set: adminProcedure
    .input(z.object({ tenantId: z.uuid(), limits: quotaLimitsSchema.partial().refine((l) => Object.keys(l).length > 0, 'Set at least one limit.') }))
    .mutation(({ ctx, input }) => setTenantQuota(ctx.db, ctx.actor, input)),
});

const tenantsRouter = router({
  list: adminProcedure
    .input(z.object({ search: z.string().trim().max(100).optional(), cursor: z.string().max(100).nullish(), limit: z.int().min(1).max(100).default(50) }).default({ limit: 50 }))
    .query(({ ctx, input }) => listTenantsForAdmin(ctx.db, input)),
  get: adminProcedure.input(z.object({ tenantId: z.uuid() })).query(({ ctx, input }) => getTenantForAdmin(ctx.db, input.tenantId)),
  create: adminProcedure
    .input(z.object({ name: tenantNameSchema, ownerEmail: emailSchema }))
    .mutation(({ ctx, input }) => createTenantForUser(ctx.db, ctx.actor, input)),
  suspend: adminProcedure
    .input(z.object({ tenantId: z.uuid(), reason: z.string().trim().min(3, 'Say why, so the tenant can read it.').max(300) }))
    .mutation(({ ctx, input }) => suspendTenant(ctx.db, ctx.actor, input)),
  reactivate: adminProcedure.input(z.object({ tenantId: z.uuid() })).mutation(({ ctx, input }) => reactivateTenant(ctx.db, ctx.actor, input)),
});

const instancesRouter = router({
  list: adminProcedure
    .input(
      z.object({
        tenantId: z.uuid().optional(),
        tenant: z.string().trim().max(100).optional(),
        states: z.array(z.enum(instanceStates)).max(8).optional(),
        name: z.string().trim().max(63).optional(),
        cursor: z.string().max(200).nullish(),
        limit: z.int().min(1).max(100).default(50),
      }),
    )
    .query(({ ctx, input }) => listAllInstances(ctx.db, input)),
  stop: adminProcedure
    .input(z.object({ instanceId: instanceIdSchema, force: z.boolean().default(false) }))
    .mutation(({ ctx, input }) => adminInstanceAction(ctx.db, ctx.actor, input, 'stop')),
  terminate: adminProcedure
    .input(z.object({ instanceId: instanceIdSchema }))
    .mutation(({ ctx, input }) => adminInstanceAction(ctx.db, ctx.actor, input, 'terminate')),
  /** Move a running instance live to another host (that one, or where placement puts it). */
  migrate: adminProcedure
    .input(z.object({ instanceId: instanceIdSchema, targetHostId: z.uuid('Choose a host.').nullish() }))
    .mutation(({ ctx, input }) => requestMigration(ctx.db, ctx.actor, { ...input, reason: 'admin' })),
  migrations: adminProcedure.input(z.object({ instanceId: instanceIdSchema })).query(({ ctx, input }) => migrationsOf(ctx.db, input.instanceId)),
  /** Stop a move before its switch: the instance runs on where it was. */
  cancelMigration: adminProcedure.input(z.object({ migrationId: z.uuid() })).mutation(({ ctx, input }) => cancelMigration(ctx.db, ctx.actor, input.migrationId)),
});

const quotaRequestsRouter = router({
  list: adminProcedure.query(({ ctx }) => adminListQuotaRequests(ctx.db)),
  decide: adminProcedure
    .input(z.object({ id: z.uuid(), approve: z.boolean(), comment: z.string().trim().max(500).optional() }))
    .mutation(({ ctx, input }) => decideQuotaRequest(ctx.db, ctx.actor, input)),
});

const flavorsRouter = router({
  list: adminProcedure.query(({ ctx }) => listFlavorsForAdmin(ctx.db)),
  create: adminProcedure.input(flavorSpecSchema).mutation(({ ctx, input }) => createFlavor(ctx.db, ctx.actor, input)),
  update: adminProcedure
    .input(flavorSpecSchema.partial().extend({ flavorId: z.uuid(), enabled: z.boolean().optional() }))
    .mutation(({ ctx, input }) => updateFlavor(ctx.db, ctx.actor, input)),
  delete: adminProcedure.input(z.object({ flavorId: z.uuid() })).mutation(({ ctx, input }) => deleteFlavor(ctx.db, ctx.actor, input)),
});

const networksRouter = router({
  list: adminProcedure
    .input(z.object({ search: z.string().trim().max(100).optional(), cursor: z.uuid().nullish(), limit: z.int().min(1).max(100).default(50) }).default({ limit: 50 }))
    .query(({ ctx, input }) => listAllNetworks(ctx.db, input)),
  portRange: adminProcedure.query(({ ctx }) => getPortForwardRange(ctx.db)),
  setPortRange: adminProcedure.input(portRangeSchema).mutation(({ ctx, input }) => setPortForwardRange(ctx.db, ctx.actor, input)),
});

const imagesRouter = router({
  list: adminProcedure.query(({ ctx }) => listImagesForAdmin(ctx.db)),
  setEnabled: adminProcedure
    .input(z.object({ imageId: z.string().regex(IMAGE_ID_PATTERN, 'Unknown image.'), enabled: z.boolean() }))
    .mutation(({ ctx, input }) => setImageEnabled(ctx.db, ctx.actor, input)),
  setPublished: adminProcedure
    .input(z.object({ imageId: capturedImageIdSchema, published: z.boolean() }))
    .mutation(({ ctx, input }) => setImagePublished(ctx.db, ctx.actor, input)),
});

const storageRouter = router({
  list: adminProcedure.query(({ ctx }) => listPoolsForAdmin(ctx.db)),
  volumes: adminProcedure.input(poolVolumesInput).query(({ ctx, input }) => listPoolVolumesForAdmin(ctx.db, input)),
  update: adminProcedure.input(updatePoolInput).mutation(({ ctx, input }) => updatePool(ctx.db, ctx.actor, input)),
});

export const adminRouter = router({
  storage: storageRouter,
  flavors: flavorsRouter,
  images: imagesRouter,
  audit: adminAuditRouter,
  tenants: tenantsRouter,
  instances: instancesRouter,
  quotaRequests: quotaRequestsRouter,
  settings: settingsRouter,
  prices: adminPricesRouter,
  revenue: adminRevenueRouter,
  users: usersRouter,
  hosts: hostsRouter,
  quotas: quotasRouter,
  networks: networksRouter,
});
