import type { RouterOutputs } from '@/server/trpc/root';

export type Instance = RouterOutputs['instances']['get'];
type Size = Pick<Instance, 'vcpus' | 'memoryMiB' | 'diskGiB' | 'nics'>;

/** "2 vCPU · 384 MiB · 2 GiB · 2 NIC" */
export function formatSize(s: Size): string {
  return `${s.vcpus} vCPU · ${s.memoryMiB} MiB · ${s.diskGiB} GiB · ${s.nics} NIC`;
}

export const VIEWER_REASON = 'Viewers cannot change instances.';

/** The role's reason not to change instances, or undefined when it may. */
export function roleReason(role: 'owner' | 'member' | 'viewer'): string | undefined {
  return role === 'viewer' ? VIEWER_REASON : undefined;
}
