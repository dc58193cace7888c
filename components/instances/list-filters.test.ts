import { describe, expect, it } from 'vitest';
import { defaultFilters, filterInput, filtersFromSearch, sameFilters, searchFromFilters } from './list-filters';

describe('filterInput', () => {
  it('leaves terminated out by default', () => {
    expect(filterInput(defaultFilters)).toEqual({ states: undefined, includeTerminated: false, name: undefined, tag: undefined, sort: 'newest' });
  });

  it('maps the state choice, name and tag', () => {
    expect(filterInput({ state: 'terminated', name: ' web ', tag: 'env = prod', sort: 'name' })).toEqual({
      states: ['terminated'],
      includeTerminated: false,
      name: 'web',
      tag: { key: 'env', value: 'prod' },
      sort: 'name',
    });
    expect(filterInput({ ...defaultFilters, state: 'all', tag: 'env' })).toMatchObject({ states: undefined, includeTerminated: true, tag: { key: 'env' } });
    expect(filterInput({ ...defaultFilters, tag: 'note=a=b' }).tag).toEqual({ key: 'note', value: 'a=b' });
  });

  it('compares filters by value, whatever the key order', () => {
    expect(sameFilters({ sort: 'newest', tag: '', name: '', state: '' }, defaultFilters)).toBe(true);
    expect(sameFilters({ ...defaultFilters, name: 'x' }, defaultFilters)).toBe(false);
  });
});

describe('filters in the query string', () => {
  it('round-trips and leaves defaults out', () => {
    const f = { state: 'terminated', name: 'web 1', tag: 'env=prod', sort: 'name' } as const;
    expect(searchFromFilters(f)).toBe('?state=terminated&name=web+1&tag=env%3Dprod&sort=name');
    expect(filtersFromSearch(new URLSearchParams(searchFromFilters(f)))).toEqual(f);
    expect(searchFromFilters(defaultFilters)).toBe('');
  });

  it('ignores values it does not know', () => {
    expect(filtersFromSearch(new URLSearchParams('state=sleeping&sort=random'))).toEqual(defaultFilters);
    expect(filtersFromSearch(new URLSearchParams('state=all')).state).toBe('all');
  });
});
