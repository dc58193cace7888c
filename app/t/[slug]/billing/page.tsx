import type { Metadata } from 'next';
import { EmptyState, PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Billing' };

export default function BillingPage() {
  return (
    <>
      <PageHeader title="Billing" description="What this tenant's resources cost, second by second." />
      <EmptyState title="Nothing to bill yet">
        <p>Usage appears here once instances run: month-to-date cost, a breakdown by instance and resource, and invoices.</p>
      </EmptyState>
    </>
  );
}
