import type { Metadata } from 'next';
import { ImagesPanel } from '@/components/images/images-panel';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Images' };

export default function ImagesPage() {
  return (
    <>
      <PageHeader title="Images" description="This tenant’s own images, made from its instances, and the images it can launch." />
      <ImagesPanel />
    </>
  );
}
