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
      {tenant.suspendedAt ? (
        <div role="alert" className="mb-6 rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900">
          <strong>{tenant.name} is suspended</strong>
          {tenant.suspendReason ? `: ${tenant.suspendReason}` : ''}. Its instances were stopped and nothing can be changed until an
          administrator reactivates it. You can still look around.
        </div>
      ) : null}
      <TenantProvider tenant={tenant}>{children}</TenantProvider>
    </AppShell>
  );
}
