import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { QuotaRequestsAdmin } from '@/components/admin/quota-requests/quota-requests-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Quota requests' };

export default function AdminQuotaRequestsPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Quota requests"
        description="Tenants ask for higher limits here. Approve to raise the limit, or deny with a comment the tenant reads."
      />
      <QuotaRequestsAdmin />
    </>
  );
}
