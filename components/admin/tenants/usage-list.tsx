import { QUOTA_RESOURCES } from '../../quotas/quota-requests-panel';
import type { RouterOutputs } from '@/server/trpc/root';

type TenantQuotaView = Pick<RouterOutputs['admin']['tenants']['get'], 'usage' | 'limits'>;
type Resource = keyof TenantQuotaView['limits'];

/** What a tenant uses against each limit; a resource over its limit is red and says so in words. */
export function UsageList({ usage, limits, label }: TenantQuotaView & { label?: string }) {
  return (
    <ul aria-label={label} className="space-y-0.5 text-xs whitespace-nowrap">
      {QUOTA_RESOURCES.map((r) => {
        const used = usage[r.value as Resource];
        const limit = limits[r.value as Resource];
        const over = used > limit;
        return (
          <li key={r.value} className={over ? 'font-medium text-red-700' : 'text-slate-700'}>
            {r.label}: <span className="tabular-nums">{used}</span> of <span className="tabular-nums">{limit}</span>
            {r.unit ? ` ${r.unit}` : ''}
            {over ? ' (over quota)' : ''}
          </li>
        );
      })}
    </ul>
  );
}
