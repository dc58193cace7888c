import type { Metadata } from 'next';
import { AccessKeysPanel } from '@/components/access-keys/access-keys-panel';
import { SettingsTabs } from '@/components/tenants/settings-tabs';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Access keys' };

export default function AccessKeysPage() {
  return (
    <>
      <PageHeader title="Settings" description="Your access keys for this tenant’s EC2-compatible API." />
      <SettingsTabs />
      <AccessKeysPanel />
    </>
  );
}
