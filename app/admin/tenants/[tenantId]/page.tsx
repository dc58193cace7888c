import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { TenantDetail } from '@/components/admin/tenants/tenant-detail';
import { LinkButton } from '@/components/ui/link-button';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Tenant' };

// The same check as admin.tenants.get's input, so an id the API would refuse is a 404 here.
const tenantIdSchema = z.uuid();

export default async function AdminTenantPage({ params }: { params: Promise<{ tenantId: string }> }) {
  const { tenantId } = await params;
  if (!tenantIdSchema.safeParse(tenantId).success) notFound();
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Tenant"
        description="Its state, what it uses against its limits and who belongs to it."
        actions={
          <LinkButton href="/admin/tenants" variant="secondary">
            All tenants
          </LinkButton>
        }
      />
      <TenantDetail tenantId={tenantId} />
    </>
  );
}
