import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { InstancesAdmin } from '@/components/admin/instances/instances-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'All instances' };

export default function AdminInstancesPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="All instances"
        description="Instances of every tenant. Stopping or terminating one is named in its history, so the tenant sees who did it."
      />
      <InstancesAdmin />
    </>
  );
}
