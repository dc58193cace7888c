'use client';

import { useRouter } from 'next/navigation';
import { useId } from 'react';
import type { TenantSummary } from '@/server/tenants/tenants';

const NEW = '__new__';

/** A native select: keyboard and screen-reader friendly with no extra code. */
export function TenantSwitcher({ tenants, currentSlug }: { tenants: TenantSummary[]; currentSlug: string | null }) {
  const router = useRouter();
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="sr-only">
        Tenant
      </label>
      <select
        id={id}
        value={currentSlug ?? ''}
        onChange={(e) => router.push(e.target.value === NEW ? '/tenants/new' : `/t/${e.target.value}/instances`)}
        className="max-w-[14rem] rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
      >
        {currentSlug ? null : <option value="">Choose a tenant…</option>}
        {tenants.map((t) => (
          <option key={t.id} value={t.slug}>
            {t.name} ({t.role})
          </option>
        ))}
        <option value={NEW}>+ New tenant…</option>
      </select>
    </div>
  );
}
