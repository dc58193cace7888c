import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { QuotaRequestsAdmin } from '@/components/admin/quota-requests/quota-requests-admin';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Quota requests' };
export const dynamic = 'force-dynamic';

export default async function AdminQuotaRequestsPage() {
  const user = await requireUser('/admin/quota-requests');
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
        title="Quota requests"
        description="Tenants ask for higher limits here. Approve to raise the limit, or deny with a comment the tenant reads."
      />
      <QuotaRequestsAdmin />
    </AppShell>
  );
}
