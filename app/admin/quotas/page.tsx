import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { QuotaSettings } from '@/components/admin/quotas/quota-settings';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Quotas' };
export const dynamic = 'force-dynamic';

export default async function AdminQuotasPage() {
  const user = await requireUser('/admin/quotas');
  if (!user.isAdmin) notFound();
  const tenants = await listTenantsForUser(getDb(), user.id);
  return (
    <AppShell user={user} tenants={tenants} current={null}>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <Link href="/admin" className="text-sky-800 hover:underline">
          ← Administration
        </Link>
      </nav>
      <PageHeader
        title="Quotas"
        description="How much each tenant may use. New tenants get the defaults; an override changes one tenant only."
      />
      <QuotaSettings />
    </AppShell>
  );
}
