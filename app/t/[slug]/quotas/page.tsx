import type { Metadata } from 'next';
import { EmptyState, PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Quotas' };

export default function QuotasPage() {
  return (
    <>
      <PageHeader title="Quotas" description="How many instances, vCPUs, memory, disk and network interfaces this tenant may use." />
      <EmptyState title="No usage to show yet">
        <p>Limits and current usage appear here with instances. Owners will be able to ask an administrator for more.</p>
      </EmptyState>
    </>
  );
}
