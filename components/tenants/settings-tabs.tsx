'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useTenant } from '../shell/tenant-context';

export function SettingsTabs() {
  const tenant = useTenant();
  const pathname = usePathname();
  const tabs = [
    { href: `/t/${tenant.slug}/settings`, label: 'Members' },
    { href: `/t/${tenant.slug}/settings/tokens`, label: 'API tokens' },
    { href: `/t/${tenant.slug}/settings/access-keys`, label: 'Access keys' },
  ];
  return (
    <nav aria-label="Settings" className="mb-6 flex gap-2">
      {tabs.map((t) => (
        <Link
          key={t.href}
          href={t.href}
          aria-current={pathname === t.href ? 'page' : undefined}
          className={`rounded-md px-3 py-1.5 text-sm font-medium ${
            pathname === t.href ? 'bg-sky-100 text-sky-900' : 'text-slate-600 hover:bg-slate-100'
          }`}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
