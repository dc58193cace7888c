import type { Metadata } from 'next';
import { MembersPanel } from '@/components/tenants/members-panel';
import { SettingsTabs } from '@/components/tenants/settings-tabs';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'Members' };

export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="Who can use this tenant, and your personal API tokens." />
      <SettingsTabs />
      <MembersPanel />
    </>
  );
}
