'use client';

import { useQuery } from '@tanstack/react-query';
import { transitional } from '@/server/instances/can';
import { useTenant } from '../shell/tenant-context';
import { useTRPC } from '../trpc/client';

/**
 * One instance of the current tenant, kept fresh: every second while it is on
 * its way somewhere, every `idleMs` otherwise, and no more once terminated.
 */
export function useLiveInstance(instanceId: string, idleMs: number) {
  const tenant = useTenant();
  const trpc = useTRPC();
  return useQuery({
    ...trpc.instances.get.queryOptions({ tenantId: tenant.id, instanceId }),
    refetchInterval: (q) => {
      const state = q.state.data?.state;
      if (state === 'terminated') return false;
      return state && transitional.includes(state) ? 1_000 : idleMs;
    },
  });
}
