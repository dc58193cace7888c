import { Badge } from '../../ui/badge';

/** Whether a catalog entry (flavor or image) is offered to tenants. */
export function StatusBadge({ enabled }: { enabled: boolean }) {
  return enabled ? <Badge tone="emerald">enabled</Badge> : <Badge tone="slate">disabled</Badge>;
}
