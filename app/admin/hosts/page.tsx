import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { HostList } from '@/components/admin/hosts/host-list';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Hosts' };

export default function AdminHostsPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Hosts"
        description="The machines instances run on: capacity after overcommit ratios, what is allocated and what is free. A host in maintenance takes no new instances."
      />
      <HostList />
    </>
  );
}
