import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { TenantsAdmin } from '@/components/admin/tenants/tenants-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Tenants' };

/** `?search=` opens the list searched (a tenant's page links here with its slug). */
export default async function AdminTenantsPage({ searchParams }: { searchParams: Promise<{ search?: string | string[] }> }) {
  const { search } = await searchParams;
  const initialSearch = typeof search === 'string' ? search.trim().slice(0, 100) : '';
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Tenants"
        description="Every tenant with what it uses against its limits and what it has cost this month. Create a tenant for a user, suspend one, or change its quotas."
      />
      <TenantsAdmin initialSearch={initialSearch} />
    </>
  );
}
