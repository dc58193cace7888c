import type { Metadata } from 'next';
import { SettingsTabs } from '@/components/tenants/settings-tabs';
import { TokensPanel } from '@/components/tokens/tokens-panel';
import { PageHeader } from '@/components/ui/page';

export const metadata: Metadata = { title: 'API tokens' };

export default function TokensPage() {
  return (
    <>
      <PageHeader title="Settings" description="Who can use this tenant, and your personal API tokens." />
      <SettingsTabs />
      <TokensPanel />
    </>
  );
}
