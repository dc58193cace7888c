import type { Metadata } from 'next';
import { LaunchForm } from '@/components/instances/launch-form';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Launch instance' };

export default function LaunchInstancePage() {
  return (
    <>
      <PageHeader title="Launch instance" description="A virtual machine from an image, sized by a preset or by hand. It is billed by the second from launch." />
      <LaunchForm />
    </>
  );
}
