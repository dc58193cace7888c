import type { InstanceState } from '@/server/instances/can';
import type { RouterInputs } from '@/server/trpc/root';

type ListInput = RouterInputs['instances']['list'];
export type Filters = { state: '' | 'all' | InstanceState; name: string; tag: string; sort: NonNullable<ListInput['sort']> };
export const defaultFilters: Filters = { state: '', name: '', tag: '', sort: 'newest' };
export const sameFilters = (a: Filters, b: Filters) => a.state === b.state && a.name === b.name && a.tag === b.tag && a.sort === b.sort;

/** The list query's filter part: "env=prod" filters by tag and value, "env" by tag key alone. */
export function filterInput(f: Filters): Omit<ListInput, 'tenantId' | 'cursor'> {
  const tag = f.tag.trim();
  const eq = tag.indexOf('=');
  return {
    states: f.state && f.state !== 'all' ? [f.state] : undefined,
    includeTerminated: f.state === 'all',
    name: f.name.trim() || undefined,
    tag: tag ? (eq >= 0 ? { key: tag.slice(0, eq).trim(), value: tag.slice(eq + 1).trim() } : { key: tag }) : undefined,
    sort: f.sort,
  };
}
