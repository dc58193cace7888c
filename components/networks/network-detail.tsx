'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { RouterOutputs } from '@/server/trpc/root';
import { StateBadge } from '../instances/state-badge';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Badge } from '../ui/badge';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable } from '../ui/table';
import { formatAddresses, networkRoleReason, whyNotDeleteNetwork } from './network-rules';

type Attached = RouterOutputs['networks']['get']['attached'][number];

/** One network: its range, the instances with an address on it, and Delete. */
export function NetworkDetail({ networkId }: { networkId: string }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const query = useQuery({ ...trpc.networks.get.queryOptions({ tenantId: tenant.id, networkId }), refetchInterval: 5_000 });
  const remove = useMutation(
    trpc.networks.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.networks.pathKey() });
        router.push(`/t/${tenant.slug}/networks`);
      },
      // A refusal (instances still attached) may mean the list here is stale.
      onError: () => void queryClient.invalidateQueries({ queryKey: trpc.networks.get.queryKey({ tenantId: tenant.id, networkId }) }),
    }),
  );
  const back = (
    <Link href={`/t/${tenant.slug}/networks`} className="text-sm text-sky-800 hover:underline">
      ← Networks
    </Link>
  );
  if (query.error) {
    return (
      <div className="space-y-4">
        {back}
        <h1 className="text-2xl font-semibold text-slate-900">Network {networkId}</h1>
        <FormAlert message={describeError(query.error).message} />
      </div>
    );
  }
  const n = query.data;
  if (!n) return <p role="status">Loading network…</p>;
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        {back}
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold break-all text-slate-900">{n.name}</h1>
          {n.isDefault ? <Badge tone="sky">default</Badge> : null}
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <ConfirmButton
            question={`Delete network ${n.name}?`}
            confirmLabel="Delete network"
            disabledReason={networkRoleReason(tenant.role) ?? whyNotDeleteNetwork(n)}
            busy={remove.isPending}
            onConfirm={() => remove.mutate({ tenantId: tenant.id, networkId: n.id })}
          >
            Delete network
          </ConfirmButton>
        </div>
        {remove.error ? <FormAlert message={describeError(remove.error).message} /> : null}
      </div>
      <Card title="Details">
        <dl className="grid gap-x-6 gap-y-3 text-sm sm:grid-cols-2">
          {(
            [
              ['CIDR', <code key="c" className="font-mono">{n.cidr}</code>],
              ['Gateway', <code key="g" className="font-mono">{n.gateway}</code>],
              ['Addresses used', formatAddresses(n)],
              ['VXLAN id', n.vxlanId ?? '—'],
            ] as const
          ).map(([term, value]) => (
            <div key={term}>
              <dt className="text-slate-500">{term}</dt>
              <dd className="text-slate-900">{value}</dd>
            </div>
          ))}
        </dl>
      </Card>
      <Card title="Attached instances" description="Instances with a network interface on this network, and the address each was given.">
        {n.attached.length === 0 ? (
          <p className="text-sm text-slate-600">No instance is attached to this network.</p>
        ) : (
          <DataTable<Attached>
            caption={`Instances on ${n.name}`}
            rowKey={(a) => `${a.instanceId}-${a.address}`}
            rows={n.attached}
            columns={[
              {
                header: 'Instance',
                cell: (a) => (
                  <Link href={`/t/${tenant.slug}/instances/${a.instanceId}`} className="font-medium text-sky-800 hover:underline">
                    {a.name}
                  </Link>
                ),
              },
              { header: 'Address', cell: (a) => <code className="font-mono text-xs">{a.address}</code> },
              { header: 'State', cell: (a) => <StateBadge state={a.state} /> },
            ]}
          />
        )}
      </Card>
    </div>
  );
}
