import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { createCallerFactory, router } from './init';
import { accessKeysRouter } from './routers/access-keys';
import { adminRouter } from './routers/admin';
import { authRouter } from './routers/auth';
import { billingRouter } from './routers/billing';
import { flavorsRouter, imagesRouter, quotaRequestsRouter, quotasRouter } from './routers/catalog';
import { consoleRouter } from './routers/console';
import { instancesRouter } from './routers/instances';
import { keyPairsRouter } from './routers/key-pairs';
import { snapshotsRouter } from './routers/snapshots';
import { meRouter } from './routers/me';
import { networksRouter, portForwardsRouter } from './routers/networks';
import { tenantsRouter } from './routers/tenants';
import { tokensRouter } from './routers/tokens';
import { volumesRouter } from './routers/volumes';

/** The whole API. Every procedure here must appear in server/trpc/authorization-matrix.test.ts. */
export const appRouter = router({
  auth: authRouter,
  me: meRouter,
  tenants: tenantsRouter,
  tokens: tokensRouter,
  accessKeys: accessKeysRouter,
  admin: adminRouter,
  images: imagesRouter,
  flavors: flavorsRouter,
  quotas: quotasRouter,
  instances: instancesRouter,
  networks: networksRouter,
  portForwards: portForwardsRouter,
  keyPairs: keyPairsRouter,
  snapshots: snapshotsRouter,
  volumes: volumesRouter,
  console: consoleRouter,
  billing: billingRouter,
  quotaRequests: quotaRequestsRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);
