import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { InstancesAdmin } from '@/components/admin/instances/instances-admin';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'All instances' };
export const dynamic = 'force-dynamic';

export default async function AdminInstancesPage() {
  const user = await requireUser('/admin/instances');
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
        title="All instances"
        description="Instances of every tenant. Stopping or terminating one is named in its history, so the tenant sees who did it."
      />
      <InstancesAdmin />
    </AppShell>
  );
}
