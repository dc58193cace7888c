import type { Metadata } from 'next';
import { BillingOverview } from '@/components/billing/billing-overview';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Billing' };

export default function BillingPage() {
  return (
    <>
      <PageHeader title="Billing" description="What this tenant's resources cost, second by second." />
      <BillingOverview />
    </>
  );
}
