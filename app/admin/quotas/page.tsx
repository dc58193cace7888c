import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { QuotaSettings } from '@/components/admin/quotas/quota-settings';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Quotas' };

export default function AdminQuotasPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Quotas"
        description="How much each tenant may use. New tenants get the defaults; an override changes one tenant only."
      />
      <QuotaSettings />
    </>
  );
}
