'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Badge } from '../ui/badge';
import { FormAlert } from '../ui/field';
import { Card } from '../ui/page';
import { DataTable } from '../ui/table';
import { NetworkForm } from './network-form';
import { formatAddresses, type Network } from './network-rules';

/** The tenant's networks with their address use, and the form that makes another. */
export function NetworksPanel() {
  const tenant = useTenant();
  const trpc = useTRPC();
  // Addresses come and go as instances launch and terminate elsewhere.
  const list = useQuery({ ...trpc.networks.list.queryOptions({ tenantId: tenant.id }), refetchInterval: 10_000 });
  const networks = list.data ?? [];
  return (
    <div className="space-y-6">
      <Card title="Networks" description="Instances on one network reach each other directly; each network reaches the internet through its gateway.">
        {list.isPending ? <p role="status">Loading networks…</p> : null}
        {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
        {list.data && networks.length === 0 ? (
          <p className="text-sm text-slate-600">This tenant has no networks yet; its first launch creates the default one.</p>
        ) : null}
        {networks.length > 0 ? (
          <DataTable<Network>
            caption="Networks"
            rowKey={(n) => n.id}
            rows={networks}
            columns={[
              {
                header: 'Name',
                cell: (n) => (
                  <span className="flex flex-wrap items-center gap-2">
                    <Link href={`/t/${tenant.slug}/networks/${n.id}`} className="font-medium text-sky-800 hover:underline">
                      {n.name}
                    </Link>
                    {n.isDefault ? <Badge tone="sky">default</Badge> : null}
                  </span>
                ),
              },
              { header: 'CIDR', cell: (n) => <code className="font-mono text-xs">{n.cidr}</code> },
              { header: 'Gateway', cell: (n) => <code className="font-mono text-xs">{n.gateway}</code> },
              { header: 'Addresses used', cell: (n) => formatAddresses(n), className: 'whitespace-nowrap tabular-nums' },
            ]}
          />
        ) : null}
      </Card>
      <Card title="Create a network" description="A private range of its own. New instances pick their networks in the launch form.">
        <NetworkForm />
      </Card>
    </div>
  );
}
