'use client';

import Link from 'next/link';
import { useCallback, type ReactNode } from 'react';
import { StateBadge } from '../instances/state-badge';
import type { Instance } from '../instances/format';
import { useTenant } from '../shell/tenant-context';
import { describeError } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { useLiveInstance } from '../instances/use-live-instance';

export type ConsoleView = 'console' | 'serial';

const views: { view: ConsoleView; label: string; path: string }[] = [
  { view: 'console', label: 'Console', path: 'console' },
  { view: 'serial', label: 'Serial console', path: 'serial' },
];

/** What the page shows instead of a console when it cannot open one, or null when it can. */
function blockedReason(
  instance: Instance,
  tenant: { name: string; role: string; suspendedAt: Date | null; suspendReason: string | null },
): { title: string; text: string } | null {
  if (tenant.role === 'viewer') {
    return {
      title: 'You cannot open this console',
      text: `Consoles need the member role in ${tenant.name}; you are a viewer. Ask an owner of ${tenant.name} for the member role.`,
    };
  }
  if (tenant.suspendedAt) {
    return {
      title: 'Tenant suspended',
      text: `${tenant.name} is suspended${tenant.suspendReason ? `: ${tenant.suspendReason}` : ''}. Consoles open again once an administrator reactivates it.`,
    };
  }
  if (instance.state === 'running') return null;
  const later =
    instance.state === 'terminated' || instance.state === 'terminating'
      ? ''
      : instance.state === 'pending' || instance.state === 'starting'
        ? ' It opens by itself once the instance runs.'
        : ' Start the instance from its page; the console opens by itself once it runs.';
  return {
    title: 'Not running',
    text: `The console opens only while the instance runs; ${instance.name} is ${instance.state}.${later}`,
  };
}

/**
 * The frame both console pages share: back link, the instance's name and
 * state, the Console / Serial console tabs, and instead of a console a plain
 * message (never a dead canvas) while one cannot be opened.
 */
export function ConsoleFrame({
  instanceId,
  view,
  children,
}: {
  instanceId: string;
  view: ConsoleView;
  children: (instance: Instance, stillRunning: () => Promise<boolean>) => ReactNode;
}) {
  const tenant = useTenant();
  const query = useLiveInstance(instanceId, 2_000);
  const { refetch } = query;
  const stillRunning = useCallback(async () => (await refetch()).data?.state === 'running', [refetch]);
  const base = `/t/${tenant.slug}/instances/${instanceId}`;
  const back = (
    <Link href={base} className="text-sm text-sky-800 hover:underline">
      ← Back to instance
    </Link>
  );
  const i = query.data;
  if (!i) {
    return (
      <div className="space-y-4">
        {back}
        {query.error ? <FormAlert message={describeError(query.error).message} /> : <p role="status">Loading instance…</p>}
      </div>
    );
  }
  const blocked = blockedReason(i, tenant);
  const title = views.find((v) => v.view === view)!.label;
  return (
    <div className="space-y-4">
      <div className="space-y-3">
        {back}
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold break-all text-slate-900">
            {title} · {i.name}
          </h1>
          <span role="status" aria-label="State" className="inline-flex">
            <StateBadge state={i.state} />
          </span>
        </div>
        <nav aria-label="Console views" className="flex gap-1 border-b border-slate-200">
          {views.map((v) => (
            <Link
              key={v.view}
              href={`${base}/${v.path}`}
              aria-current={v.view === view ? 'page' : undefined}
              className={`-mb-px rounded-t-md border-b-2 px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 ${
                v.view === view ? 'border-sky-700 text-sky-800' : 'border-transparent text-slate-600 hover:text-slate-900'
              }`}
            >
              {v.label}
            </Link>
          ))}
        </nav>
      </div>
      {blocked ? (
        <section aria-label={blocked.title} className="rounded-lg border border-slate-200 bg-white px-6 py-10 text-center shadow-sm">
          <p role="status" aria-label="Connection" className="text-lg font-medium text-slate-900">
            {blocked.title}
          </p>
          <p className="mx-auto mt-2 max-w-prose text-sm text-slate-600">{blocked.text}</p>
          <div className="mt-6">
            <Link href={base} className="text-sm font-medium text-sky-800 hover:underline">
              Go to {i.name}
            </Link>
          </div>
        </section>
      ) : (
        children(i, stillRunning)
      )}
    </div>
  );
}
