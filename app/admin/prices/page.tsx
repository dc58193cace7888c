import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { PriceBook } from '@/components/billing/price-book';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Price book' };
export const dynamic = 'force-dynamic';

export default async function AdminPricesPage() {
  const user = await requireUser('/admin/prices');
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
        title="Price book"
        description="What each resource costs per hour. A new version applies from its start; usage before it keeps the prices it had."
      />
      <PriceBook />
    </AppShell>
  );
}
