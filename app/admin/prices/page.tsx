import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { PriceBook } from '@/components/billing/price-book';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Price book' };

export default function AdminPricesPage() {
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Price book"
        description="What each resource costs per hour. A new version applies from its start; usage before it keeps the prices it had."
      />
      <PriceBook />
    </>
  );
}
