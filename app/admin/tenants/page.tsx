import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { TenantsAdmin } from '@/components/admin/tenants/tenants-admin';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Tenants' };
export const dynamic = 'force-dynamic';

export default async function AdminTenantsPage() {
  const user = await requireUser('/admin/tenants');
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
        title="Tenants"
        description="Every tenant with what it uses against its limits and what it has cost this month. Suspend a tenant, or change its quotas."
      />
      <TenantsAdmin />
    </AppShell>
  );
}
