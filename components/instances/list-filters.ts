import { instanceStates, type InstanceState } from '@/server/instances/can';
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

const sorts: readonly Filters['sort'][] = ['newest', 'oldest', 'name'];

/** Filters from the page's query string (?state=stopped&name=web&tag=env%3Dprod&sort=name); unknown values fall back to the defaults. */
export function filtersFromSearch(search: URLSearchParams): Filters {
  const state = search.get('state') ?? '';
  const sort = search.get('sort') ?? '';
  return {
    state: state === 'all' || (instanceStates as readonly string[]).includes(state) ? (state as Filters['state']) : '',
    name: search.get('name') ?? '',
    tag: search.get('tag') ?? '',
    sort: (sorts as readonly string[]).includes(sort) ? (sort as Filters['sort']) : defaultFilters.sort,
  };
}

/** The query string for filters, leaving out what is the default. */
export function searchFromFilters(f: Filters): string {
  const search = new URLSearchParams();
  if (f.state) search.set('state', f.state);
  if (f.name) search.set('name', f.name);
  if (f.tag) search.set('tag', f.tag);
  if (f.sort !== defaultFilters.sort) search.set('sort', f.sort);
  const s = search.toString();
  return s ? `?${s}` : '';
}
