import { getServerSession } from 'next-auth/next';
import { notFound, redirect } from 'next/navigation';
import { findActiveUser, type SessionUser } from '../accounts/users';
import { getDb } from '../db/client';
import { findMembership, listTenantsForUser, type TenantSummary } from '../tenants/tenants';
import { authOptions } from './options';

/** For server components: the signed-in active user, or null. */
export async function getCurrentUser(): Promise<SessionUser | null> {
  const session = await getServerSession(authOptions);
  const id = session?.user?.id;
  return id ? findActiveUser(getDb(), id) : null;
}

/** For server components: the user, or a redirect to sign-in that comes back here. */
export async function requireUser(returnTo: string): Promise<SessionUser> {
  const user = await getCurrentUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent(returnTo)}`);
  return user;
}

/** The user's membership in the tenant with this slug; anyone else sees a 404. */
export async function requireTenant(user: SessionUser, slug: string): Promise<{ tenant: TenantSummary; tenants: TenantSummary[] }> {
  const db = getDb();
  const tenant = await findMembership(db, user.id, { slug });
  if (!tenant) notFound();
  return { tenant, tenants: await listTenantsForUser(db, user.id) };
}
