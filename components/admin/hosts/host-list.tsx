'use client';

import { useQuery } from '@tanstack/react-query';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Badge } from '../../ui/badge';
import { FormAlert } from '../../ui/field';
import { Card } from '../../ui/page';
import { DataTable, formatDateTime } from '../../ui/table';
import { HostForm } from './host-form';
import { MigrationList } from './migration-list';
import { PlacementForm } from './placement-form';
import { formatRatio } from './ratio';

type Host = RouterOutputs['admin']['hosts']['list'][number];

const gib = (mib: number) => `${(mib / 1024).toFixed(mib % 1024 === 0 ? 0 : 1)} GiB`;
const STATE_STYLE: Record<Host['state'], string> = {
  enabled: 'bg-emerald-100 text-emerald-900',
  maintenance: 'bg-amber-100 text-amber-900',
  offline: 'bg-slate-200 text-slate-800',
  down: 'bg-red-100 text-red-900',
};

/** One resource as "free of capacity", with the allocation below. */
function Usage({ capacity, allocated, free }: { capacity: string; allocated: string; free: string }) {
  return (
    <span className="block whitespace-nowrap tabular-nums">
      <span className="font-medium">{free}</span> free of {capacity}
      <span className="block text-xs text-slate-500">{allocated} allocated</span>
    </span>
  );
}

/** What keeps guests apart on a host: each piece enforced or not, then what is missing and why. */
function Isolation({ isolation }: { isolation: Host['isolation'] }) {
  if (!isolation) return <span className="text-xs text-slate-600">Runs no guest processes.</span>;
  const pieces: [string, boolean, string][] = [
    ['user per guest', isolation.user.enforced, isolation.user.detail],
    ['cgroups', isolation.cgroups.enforced, isolation.cgroups.detail],
    ['seccomp', isolation.seccomp.enforced, isolation.seccomp.detail],
    ['KVM', isolation.acceleration === 'kvm', isolation.acceleration === 'kvm' ? 'hardware virtualization' : 'software emulation (TCG)'],
  ];
  return (
    <span className="block min-w-48 max-w-sm">
      <ul className="flex flex-wrap gap-1" aria-label="Enforced here">
        {pieces.map(([name, on, detail]) => (
          <li key={name} title={detail}>
            <Badge tone={on ? 'emerald' : 'amber'}>
              {name}: {on ? 'yes' : 'no'}
            </Badge>
          </li>
        ))}
      </ul>
      {isolation.changes.length ? (
        <details className="mt-1 text-xs text-slate-600">
          <summary className="cursor-pointer">Set on the host for it ({isolation.changes.length})</summary>
          <ul className="mt-1 list-disc pl-4">
            {isolation.changes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </details>
      ) : null}
      {isolation.missing.length ? (
        <details className="mt-1 text-xs text-slate-600">
          <summary className="cursor-pointer">Not enforced ({isolation.missing.length})</summary>
          <ul className="mt-1 list-disc pl-4">
            {isolation.missing.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </span>
  );
}

/** The hosts with capacity, allocation and liveness, and a settings form per host. */
export function HostList() {
  const trpc = useTRPC();
  // Liveness comes from heartbeats: refresh now and then so a dead host shows up.
  const list = useQuery(trpc.admin.hosts.list.queryOptions(undefined, { refetchInterval: 15_000 }));
  const hosts = list.data ?? [];
  return (
    <div className="space-y-6">
      <PlacementForm />
      <Card
        title="Hosts"
        description="Capacity counts the overcommit ratios and, for RAM, the reserve kept for the host itself. Network says whether NICs join tenant networks (bridged) or fall back to QEMU user-mode networking, and why. Isolation says what keeps each guest to itself on the host — its own user, a cgroup with its share, QEMU's seccomp filter, hardware virtualization — and what the host cannot enforce."
      >
        {list.isPending ? <p role="status">Loading hosts…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && hosts.length === 0 ? <p className="text-sm text-slate-600">No host has registered yet.</p> : null}
        {hosts.length > 0 ? (
          <DataTable<Host>
            caption="Hosts"
            rowKey={(h) => h.id}
            rows={hosts}
            columns={[
              {
                header: 'Name',
                cell: (h) => (
                  <span className="whitespace-nowrap">
                    <span className="font-medium">{h.name}</span>
                    <span className="block text-xs text-slate-500">{h.driver}</span>
                    {/* Loopback: the server of both roles on one machine; another address: a node the control plane reaches over its channel. */}
                    {h.nodeAddress && !h.nodeAddress.startsWith('127.') ? <span className="block text-xs text-slate-500">node {h.nodeAddress}</span> : null}
                  </span>
                ),
              },
              { header: 'Acceleration', cell: (h) => <span className="uppercase">{h.acceleration}</span> },
              { header: 'Isolation', cell: (h) => <Isolation isolation={h.isolation} /> },
              {
                header: 'Network',
                cell: (h) => (
                  <span className="block min-w-40 max-w-xs">
                    <Badge tone={h.networkMode === 'bridged' ? 'emerald' : 'amber'}>{h.networkMode === 'bridged' ? 'bridged' : 'user-mode'}</Badge>
                    {/* The note says why NICs are user-mode (hosts registered before 43428b4 kept a stale one when bridged). */}
                    {h.networkMode === 'user' && h.networkNote ? <span className="mt-1 block text-xs text-slate-600">{h.networkNote}</span> : null}
                  </span>
                ),
              },
              {
                header: 'State',
                cell: (h) => (
                  <span className="flex flex-wrap gap-1 whitespace-nowrap">
                    <span className={`rounded px-1.5 py-0.5 text-xs ${STATE_STYLE[h.state]}`}>{h.state}</span>
                    <span
                      className={`rounded px-1.5 py-0.5 text-xs ${h.alive ? 'bg-emerald-100 text-emerald-900' : 'bg-red-100 text-red-900'}`}
                      title={`Last heartbeat ${formatDateTime(h.heartbeatAt)}`}
                    >
                      {h.alive ? 'alive' : 'offline'}
                    </span>
                    {h.state === 'down' && h.downAt ? (
                      <span className="block w-full text-xs text-red-900">
                        Down since {formatDateTime(h.downAt)}; {h.fencedAt ? `fenced ${formatDateTime(h.fencedAt)}` : 'not fenced yet'}.
                      </span>
                    ) : null}
                    {h.sharedPool ? (
                      <span className="block w-full text-xs text-slate-500" title={`Shared pool ${h.sharedPool}`}>
                        shared pool {h.sharedPool.slice(0, 8)}
                      </span>
                    ) : null}
                  </span>
                ),
              },
              { header: 'Instances', cell: (h) => <span className="tabular-nums">{h.instanceCount}</span> },
              {
                header: 'vCPU',
                cell: (h) => <Usage capacity={String(h.capacity.vcpus)} allocated={String(h.allocated.vcpus)} free={String(h.free.vcpus)} />,
              },
              {
                header: 'RAM',
                cell: (h) => <Usage capacity={gib(h.capacity.memoryMiB)} allocated={gib(h.allocated.memoryMiB)} free={gib(h.free.memoryMiB)} />,
              },
              {
                header: 'Disk',
                cell: (h) => <Usage capacity={`${h.capacity.diskGiB} GiB`} allocated={`${h.allocated.diskGiB} GiB`} free={`${h.free.diskGiB} GiB`} />,
              },
              {
                header: 'Ratios',
                cell: (h) => (
                  <span className="block whitespace-nowrap text-xs tabular-nums">
                    CPU {formatRatio(h.cpuRatioPct)}×, RAM {formatRatio(h.ramRatioPct)}×
                    <span className="block text-slate-500">{h.ramReserveMiB} MiB reserved</span>
                  </span>
                ),
              },
            ]}
          />
        ) : null}
      </Card>
      <MigrationList hosts={hosts} />
      {hosts.map((h) => (
        <HostForm key={h.id} host={h} />
      ))}
    </div>
  );
}
