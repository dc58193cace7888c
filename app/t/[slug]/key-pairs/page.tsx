import type { Metadata } from 'next';
import { KeyPairsPanel } from '@/components/key-pairs/key-pairs-panel';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Key pairs' };

export default function KeyPairsPage() {
  return (
    <>
      <PageHeader title="Key pairs" description="The SSH keys this tenant’s instances can be launched with." />
      <KeyPairsPanel />
    </>
  );
}
