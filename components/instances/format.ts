import type { RouterOutputs } from '@/server/trpc/root';

export type Instance = RouterOutputs['instances']['get'];
type Size = Pick<Instance, 'vcpus' | 'memoryMiB' | 'diskGiB' | 'nics'>;

/** "2 vCPU · 384 MiB · 2 GiB · 2 NIC" */
export function formatSize(s: Size): string {
  return `${s.vcpus} vCPU · ${s.memoryMiB} MiB · ${s.diskGiB} GiB · ${s.nics} NIC`;
}

/** The role's reason not to change `what` (the server's rule: changes need a member), or undefined when it may. */
export function roleReason(role: 'owner' | 'member' | 'viewer', what = 'instances'): string | undefined {
  return role === 'viewer' ? `Viewers cannot change ${what}.` : undefined;
}

/** A moment to the second: events on an instance are often seconds apart. */
export function formatMoment(d: Date | null | undefined): string {
  return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '—';
}

// CSI/OSC sequences (cursor queries, colours) and other control characters a
// terminal would act on; a <pre> would show them as boxes.
const TERMINAL_CONTROLS = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r/g;

/** Serial output as plain text: terminal control sequences and carriage returns dropped. */
export function plainConsoleText(raw: string): string {
  return raw.replace(TERMINAL_CONTROLS, '');
}
