import type { Metadata } from 'next';
import { ConsolePage } from '@/components/console/console-page';

type Params = { params: Promise<{ instanceId: string }> };

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { instanceId } = await params;
  return { title: `Console of ${instanceId}` };
}

export default async function InstanceConsolePage({ params }: Params) {
  const { instanceId } = await params;
  return <ConsolePage instanceId={instanceId} view="console" />;
}
