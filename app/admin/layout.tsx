import type { ReactNode } from 'react';
import { notFound } from 'next/navigation';
import { AppShell } from '@/components/shell/app-shell';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const dynamic = 'force-dynamic';

/** Every /admin page: platform admins only (anyone else gets a 404), inside the app shell. */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const user = await requireUser('/admin');
  if (!user.isAdmin) notFound();
  const tenants = await listTenantsForUser(getDb(), user.id);
  return (
    <AppShell user={user} tenants={tenants} current={null}>
      {children}
    </AppShell>
  );
}
