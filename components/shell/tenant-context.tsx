'use client';

import { createContext, useContext, type ReactNode } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';

export type CurrentTenant = RouterOutputs['tenants']['list'][number];

const TenantContext = createContext<CurrentTenant | null>(null);

export function TenantProvider({ tenant, children }: { tenant: CurrentTenant; children: ReactNode }) {
  return <TenantContext.Provider value={tenant}>{children}</TenantContext.Provider>;
}

/** The tenant of the current /t/<slug>/… page, with the caller's role in it. */
export function useTenant(): CurrentTenant {
  const tenant = useContext(TenantContext);
  if (!tenant) throw new Error('useTenant() outside a tenant page');
  return tenant;
}
