import { headroom } from '@/server/quotas/resources';
import type { RouterOutputs } from '@/server/trpc/root';

export type Quota = RouterOutputs['quotas']['get'][number];
export type QuotaRequest = Partial<Record<Quota['resource'], number>>;

const amount = (q: Quota, n: number) => (q.unit ? `${n} ${q.unit}` : String(n));

/** What a request would do to one quota: the numbers and, when it won't fit, why. */
export function quotaOutlook(q: Quota, request = 0) {
  const { after, left, fits } = headroom(q.used, request, q.limit);
  const text = request
    ? `${amount(q, q.used)} used + ${amount(q, request)} = ${amount(q, after)} of ${amount(q, q.limit)}`
    : `${amount(q, q.used)} of ${amount(q, q.limit)} used`;
  const reason = fits ? null : `Won’t fit: this needs ${amount(q, request)} and only ${amount(q, left)} ${left === 1 ? 'is' : 'are'} left.`;
  return { after, left, fits, text, reason };
}
