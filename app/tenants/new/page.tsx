import type { Metadata } from 'next';
import { AppShell } from '@/components/shell/app-shell';
import { NewTenantForm } from '@/components/tenants/new-tenant-form';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'New tenant' };
export const dynamic = 'force-dynamic';

export default async function NewTenantPage() {
  const user = await requireUser('/tenants/new');
  const tenants = await listTenantsForUser(getDb(), user.id);
  return (
    <AppShell user={user} tenants={tenants} current={null}>
      <PageHeader
        title="New tenant"
        description={tenants.length ? 'Tenants keep instances, quotas and bills apart.' : 'You belong to no tenant yet: create one to launch instances.'}
      />
      <NewTenantForm />
    </AppShell>
  );
}
