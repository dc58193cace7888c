import type { Metadata } from 'next';
import { NetworkDetail } from '@/components/networks/network-detail';

type Params = { params: Promise<{ networkId: string }> };

export const metadata: Metadata = { title: 'Network' };

export default async function NetworkPage({ params }: Params) {
  const { networkId } = await params;
  return <NetworkDetail networkId={networkId} />;
}
