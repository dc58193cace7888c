import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { UserList } from '@/components/admin/users/user-list';
import { AppShell } from '@/components/shell/app-shell';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const metadata: Metadata = { title: 'Users' };
export const dynamic = 'force-dynamic';

export default async function AdminUsersPage() {
  const user = await requireUser('/admin/users');
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
        title="Users"
        description="Everyone with an account. A disabled user's sessions and API tokens stop working at their next request."
      />
      <UserList currentUserId={user.id} />
    </AppShell>
  );
}
