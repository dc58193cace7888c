import Link from 'next/link';
import type { ReactNode } from 'react';
import type { SessionUser } from '@/server/accounts/users';
import type { TenantSummary } from '@/server/tenants/tenants';
import { SignOutButton } from '../auth/sign-out-button';
import { NavLinks } from './nav-links';
import { TenantSwitcher } from './tenant-switcher';
import { Badge } from '../ui/badge';

/** Header with the tenant switcher and the user's menu, then the page's navigation and content. */
export function AppShell({
  user,
  tenants,
  current,
  children,
}: {
  user: SessionUser;
  tenants: TenantSummary[];
  current: TenantSummary | null;
  children: ReactNode;
}) {
  const links = current
    ? [
        { href: `/t/${current.slug}/instances`, label: 'Instances' },
        { href: `/t/${current.slug}/volumes`, label: 'Volumes' },
        { href: `/t/${current.slug}/images`, label: 'Images' },
        { href: `/t/${current.slug}/networks`, label: 'Networks' },
        { href: `/t/${current.slug}/key-pairs`, label: 'Key pairs' },
        { href: `/t/${current.slug}/billing`, label: 'Billing' },
        { href: `/t/${current.slug}/quotas`, label: 'Quotas' },
        { href: `/t/${current.slug}/settings`, label: 'Settings' },
      ]
    : [];
  if (user.isAdmin) links.push({ href: '/admin', label: 'Admin' });
  return (
    <div className="min-h-screen bg-slate-50">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
          <Link href="/" className="text-lg font-bold tracking-tight text-sky-800">
            ☁ Cirrus
          </Link>
          <TenantSwitcher tenants={tenants} currentSlug={current?.slug ?? null} />
          <div className="ml-auto flex items-center gap-2">
            <span className="hidden text-sm text-slate-600 sm:inline" title={user.email}>
              {user.name}
              {user.isAdmin ? <Badge tone="amber" className="ml-1">admin</Badge> : null}
            </span>
            <SignOutButton />
          </div>
        </div>
        <NavLinks links={links} />
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        {children}
      </main>
    </div>
  );
}
