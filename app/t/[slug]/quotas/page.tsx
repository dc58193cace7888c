import type { Metadata } from 'next';
import { QuotasPanel } from '@/components/quotas/quotas-panel';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Quotas' };

export default function QuotasPage() {
  return (
    <>
      <PageHeader title="Quotas" description="How many instances, vCPUs, memory, disk and network interfaces this tenant may use." />
      <QuotasPanel />
    </>
  );
}
