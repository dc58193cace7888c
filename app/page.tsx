import { redirect } from 'next/navigation';
import { requireUser } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { listTenantsForUser } from '@/server/tenants/tenants';

export const dynamic = 'force-dynamic';

/** Home: the first tenant's instances, or a form to make a first tenant. */
export default async function Home() {
  const user = await requireUser('/');
  const [first] = await listTenantsForUser(getDb(), user.id);
  redirect(first ? `/t/${first.slug}/instances` : user.isAdmin ? '/admin' : '/tenants/new');
}
