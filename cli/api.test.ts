import { describe, expect, it } from 'vitest';
import { allPages, pickTenant, unreachableReason, type Tenant } from './api';

const t = (slug: string) => ({ id: `id-${slug}`, slug, name: slug.toUpperCase(), role: 'owner', suspendedAt: null, suspendReason: null }) as Tenant;

describe('which tenant', () => {
  it('is the one asked for (slug or id), else the only one', () => {
    expect(pickTenant([t('a'), t('b')], 'b').slug).toBe('b');
    expect(pickTenant([t('a'), t('b')], 'id-a').slug).toBe('a');
    expect(pickTenant([t('a')], null).slug).toBe('a');
  });

  it('is a choice to make when there are several (2), and not found when it is not yours (4)', () => {
    expect(() => pickTenant([t('a'), t('b')], null)).toThrow('You are in 2 tenants (a, b): choose one with --tenant <slug> (or `cirrus login --tenant <slug>`).');
    try {
      pickTenant([t('a')], 'z');
    } catch (e) {
      expect((e as Error).message).toBe('You are not in a tenant “z”; yours: a.');
      expect((e as { exitCode: number }).exitCode).toBe(4);
    }
    expect(() => pickTenant([], null)).toThrow(/not a member of any tenant/);
  });
});

describe('pages', () => {
  it('are followed until there is no next cursor', async () => {
    const pages: Record<string, { items: number[]; nextCursor: string | null }> = { '': { items: [1, 2], nextCursor: 'b' }, b: { items: [3], nextCursor: 'c' }, c: { items: [], nextCursor: null } };
    expect(await allPages(async (cursor) => pages[cursor ?? '']!)).toEqual([1, 2, 3]);
  });
});

describe('an unreachable server', () => {
  it('is described in words', () => {
    expect(unreachableReason(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBe('connection refused');
    expect(unreachableReason(new DOMException('The operation timed out.', 'TimeoutError'))).toBe('no answer within 30 s');
    expect(unreachableReason(new TypeError('fetch failed', { cause: new Error('self-signed certificate') }))).toBe('self-signed certificate');
  });
});
