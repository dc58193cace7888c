import type { Metadata } from 'next';
import { NetworksPanel } from '@/components/networks/networks-panel';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Networks' };

export default function NetworksPage() {
  return (
    <>
      <PageHeader title="Networks" description="The private networks this tenant’s instances get their addresses from." />
      <NetworksPanel />
    </>
  );
}
