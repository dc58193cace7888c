import type { RouterOutputs } from '@/server/trpc/root';

export type Network = RouterOutputs['networks']['list'][number];

export const NETWORK_VIEWER_REASON = 'Viewers cannot change networks.';

/** The role's reason not to change networks, or undefined when it may. */
export function networkRoleReason(role: 'owner' | 'member' | 'viewer'): string | undefined {
  return role === 'viewer' ? NETWORK_VIEWER_REASON : undefined;
}

/** Why a network cannot be deleted whatever is on it (the server says the same), or undefined. */
export function whyNotDeleteNetwork(n: Pick<Network, 'name' | 'isDefault'>): string | undefined {
  return n.isDefault ? `“${n.name}” is the tenant’s default network; it cannot be deleted.` : undefined;
}

/** "3 of 253" */
export const formatAddresses = (n: Pick<Network, 'addressesUsed' | 'addressesTotal'>) =>
  `${n.addressesUsed.toLocaleString('en')} of ${n.addressesTotal.toLocaleString('en')}`;

/** How a network is named in pickers: "lab (10.0.1.0/24)". */
export const networkLabel = (n: Pick<Network, 'name' | 'cidr'>) => `${n.name} (${n.cidr})`;

/**
 * Why an instance's network (NIC rates, port forwards) cannot change in its
 * state, as the server says it; undefined when it can.
 */
export function whyNotChangeInstanceNetwork(i: { name: string; state: string }): string | undefined {
  if (i.state === 'terminated') return `${i.name} is terminated; its network cannot change.`;
  if (i.state === 'terminating') return `${i.name} is being terminated; its network cannot change.`;
  return undefined;
}
