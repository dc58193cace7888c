import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { PoolList } from '@/components/admin/storage/pool-list';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Storage' };

export default function AdminStoragePage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Storage"
        description="The pools tenants’ volumes are made in: how much each may promise, has promised and holds. A pool out of service takes no new volumes."
      />
      <PoolList />
    </>
  );
}
