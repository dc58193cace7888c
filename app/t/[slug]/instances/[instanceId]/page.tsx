import type { Metadata } from 'next';
import { InstanceDetail } from '@/components/instances/instance-detail';

export const metadata: Metadata = { title: 'Instance' };

export default async function InstancePage({ params }: { params: Promise<{ instanceId: string }> }) {
  const { instanceId } = await params;
  return <InstanceDetail instanceId={instanceId} />;
}
