import type { Metadata } from 'next';
import { z } from 'zod';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { InstancesAdmin } from '@/components/admin/instances/instances-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'All instances' };

/** `?tenant=<id>` opens the list filtered to one tenant (the tenant page links here). */
export default async function AdminInstancesPage({ searchParams }: { searchParams: Promise<{ tenant?: string | string[] }> }) {
  const { tenant } = await searchParams;
  const initialTenantId = z.uuid().safeParse(tenant).data ?? '';
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="All instances"
        description="Instances of every tenant. Stopping or terminating one is named in its history, so the tenant sees who did it."
      />
      <InstancesAdmin initialTenantId={initialTenantId} />
    </>
  );
}
