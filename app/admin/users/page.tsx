import type { Metadata } from 'next';
import { AdminBreadcrumb } from '@/components/admin/admin-breadcrumb';
import { UserList } from '@/components/admin/users/user-list';
import { PageHeader } from '@/components/ui/page';
import { requireUser } from '@/server/auth/session';

export const metadata: Metadata = { title: 'Users' };
export const dynamic = 'force-dynamic';

export default async function AdminUsersPage() {
  // The admin layout has already let only admins in; this is who is looking.
  const user = await requireUser('/admin/users');
  return (
    <>
      <AdminBreadcrumb />
      <PageHeader
        title="Users"
        description="Everyone with an account. A disabled user's sessions and API tokens stop working at their next request."
      />
      <UserList currentUserId={user.id} />
    </>
  );
}
