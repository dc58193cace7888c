import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { HostList } from '@/components/admin/hosts/host-list';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Hosts' };
export const dynamic = 'force-dynamic';

export default async function AdminHostsPage() {
  const user = await requireUser('/admin/hosts');
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
        title="Hosts"
        description="The machines instances run on: capacity after overcommit ratios, what is allocated and what is free. A host in maintenance takes no new instances."
      />
      <HostList />
    </AppShell>
  );
}
