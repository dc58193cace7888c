import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { FlavorsAdmin } from '@/components/admin/catalog/flavors-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Flavors' };

export default function AdminFlavorsPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Flavors"
        description="The size presets tenants pick from when they launch an instance. A disabled flavor is no longer offered; instances already launched keep their size."
      />
      <FlavorsAdmin />
    </>
  );
}
