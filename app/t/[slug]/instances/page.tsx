import type { Metadata } from 'next';
import { EmptyState, PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Instances' };

export default function InstancesPage() {
  return (
    <>
      <PageHeader title="Instances" description="Virtual machines in this tenant, billed by the second while they exist." />
      <EmptyState title="No instances yet">
        <p>
          Instances you launch appear here with their state, size and console. Launching needs a hypervisor host, which
          this Cirrus installation does not have connected yet.
        </p>
      </EmptyState>
    </>
  );
}
