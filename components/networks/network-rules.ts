import { networkCan } from '@/server/network/can';
import type { RouterOutputs } from '@/server/trpc/root';
import { roleReason } from '../instances/format';

export type Network = RouterOutputs['networks']['list'][number];

export const networkRoleReason = (role: 'owner' | 'member' | 'viewer') => roleReason(role, 'networks');

/** Why a network cannot be deleted whatever is on it (the server's own rule, server/network/can.ts), or undefined. */
export function whyNotDeleteNetwork(n: Pick<Network, 'name' | 'isDefault'>): string | undefined {
  return networkCan.delete(n) ?? undefined;
}

/** "3 of 253" */
export const formatAddresses = (n: Pick<Network, 'addressesUsed' | 'addressesTotal'>) =>
  `${n.addressesUsed.toLocaleString('en')} of ${n.addressesTotal.toLocaleString('en')}`;

/** How a network is named in pickers: "lab (10.0.1.0/24)". */
export const networkLabel = (n: Pick<Network, 'name' | 'cidr'>) => `${n.name} (${n.cidr})`;

/** Why an instance's network (NIC rates, port forwards) cannot change in its state (the server's rule), or undefined. */
export function whyNotChangeInstanceNetwork(i: { name: string; state: string }): string | undefined {
  return networkCan.changeInstance(i) ?? undefined;
}

/** Why a NIC takes no port forward or rate (user-mode), or undefined. */
export function whyNotUseNic(nic: { mode: string; position: number }, what: 'Port forwards' | 'Rates', instanceName: string): string | undefined {
  return networkCan.useNic(nic, what, instanceName) ?? undefined;
}
