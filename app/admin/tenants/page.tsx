import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { TenantsAdmin } from '@/components/admin/tenants/tenants-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Tenants' };

export default function AdminTenantsPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Tenants"
        description="Every tenant with what it uses against its limits and what it has cost this month. Create a tenant for a user, suspend one, or change its quotas."
      />
      <TenantsAdmin />
    </>
  );
}
