import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { AuditLog } from '@/components/admin/audit/audit-log';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Audit log' };
export const dynamic = 'force-dynamic';

export default async function AdminAuditPage() {
  const user = await requireUser('/admin/audit');
  if (!user.isAdmin) notFound();
  const tenants = await listTenantsForUser(getDb(), user.id);
  return (
    <AppShell user={user} tenants={tenants} current={null}>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <Link href="/admin" className="text-sky-800 hover:underline">
          ← Administration
        </Link>
      </nav>
      <PageHeader title="Audit log" description="Who did what, where and when, across every tenant — refusals and failures included." />
      <AuditLog />
    </AppShell>
  );
}
