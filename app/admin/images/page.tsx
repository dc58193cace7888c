import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { ImagesAdmin } from '@/components/admin/catalog/images-admin';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Images' };

export default function AdminImagesPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Images"
        description="The guest images built on this host, and tenants’ own images (publish one to offer it to every tenant). A disabled image is no longer offered and new launches of it are refused; instances made from it keep running."
      />
      <ImagesAdmin />
    </>
  );
}
