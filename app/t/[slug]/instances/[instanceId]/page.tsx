import type { Metadata } from 'next';
import { InstanceDetail } from '@/components/instances/instance-detail';

type Params = { params: Promise<{ instanceId: string }> };

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { instanceId } = await params;
  return { title: `Instance ${instanceId}` };
}

export default async function InstancePage({ params }: Params) {
  const { instanceId } = await params;
  return <InstanceDetail instanceId={instanceId} />;
}
