import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { NetworksAdmin } from '@/components/admin/networks/networks-admin';
import { PortRangeForm } from '@/components/admin/networks/port-range-form';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Networks' };

export default function AdminNetworksPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader title="Networks" description="Tenant networks across the cloud, and the host ports port forwards are given." />
      <div className="space-y-6">
        <PortRangeForm />
        <NetworksAdmin />
      </div>
    </>
  );
}
