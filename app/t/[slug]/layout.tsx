import type { ReactNode } from 'react';
import { AppShell } from '@/components/shell/app-shell';
import { TenantProvider } from '@/components/shell/tenant-context';
import { requireTenant, requireUser } from '@/server/auth/session';

export const dynamic = 'force-dynamic';

export default async function TenantLayout({ children, params }: { children: ReactNode; params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const user = await requireUser(`/t/${encodeURIComponent(slug)}/instances`);
  const { tenant, tenants } = await requireTenant(user, slug);
  return (
    <AppShell user={user} tenants={tenants} current={tenant}>
      <TenantProvider tenant={tenant}>{children}</TenantProvider>
    </AppShell>
  );
}
