import { and, asc, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../accounts/users';
import { auditLog, hosts } from '../db/schema';
import { setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let adminUser: SessionUser;
beforeAll(async () => {
  t = await createTestDatabase();
  const { hostId } = await setUpCompute(t.db);
  await t.db.update(hosts).set({ networkMode: 'bridged', networkNote: null }).where(eq(hosts.id, hostId));
  adminUser = await makeUser(t.db, { isAdmin: true });
});
afterAll(() => t.close());

const admin = () => callerAs(t.db, adminUser).admin.networks;

/** Every page of admin.networks.list for a search. */
async function allPages(search: string | undefined, limit: number) {
  const seen: { id: string; name: string; tenantName: string; cidr: string; addressesUsed: number; addressesTotal: number; createdAt: Date }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<ReturnType<typeof admin>['list']>> = await admin().list({ search, cursor, limit });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { seen, pages };
}

describe('admin: networks', () => {
  it('lists every tenant’s live networks, keyset-paged, with address use; searches by name, CIDR and tenant', async () => {
    const owner = await makeUser(t.db);
    const acme = await makeTenant(t.db, owner, 'Acme Rockets');
    const globex = await makeTenant(t.db, owner, 'Globex');
    const api = callerAs(t.db, owner);
    await setQuota(t.db, acme.id, {});
    const lab = await api.networks.create({ tenantId: acme.id, name: 'acme-lab', cidr: '10.77.0.0/24' });
    await api.networks.create({ tenantId: acme.id, name: 'acme_dmz', cidr: '192.168.77.0/28' });
    const gone = await api.networks.create({ tenantId: globex.id, name: 'globex-gone', cidr: '10.78.0.0/24' });
    await api.networks.delete({ tenantId: globex.id, networkId: gone.id });
    await api.instances.launch({ tenantId: acme.id, ...tiny, interfaces: [{ networkId: lab.id }] });

    // 2 defaults + 2 of Acme's (the deleted one is left out), 3 at a time.
    const { seen, pages } = await allPages(undefined, 3);
    expect(pages).toBe(2);
    expect(seen).toHaveLength(4);
    expect(new Set(seen.map((n) => n.id)).size).toBe(4);
    // Newest first: the tenants' own networks before the defaults their tenants were made with.
    const created = seen.map((n) => new Date(n.createdAt).getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(seen.slice(0, 2).map((n) => n.name)).toEqual(['acme_dmz', 'acme-lab']);
    expect(seen.map((n) => n.name)).not.toContain('globex-gone');
    expect(seen.find((n) => n.id === lab.id)).toMatchObject({ tenantName: 'Acme Rockets', cidr: '10.77.0.0/24', addressesUsed: 1, addressesTotal: 253 });

    const names = async (search: string) => (await allPages(search, 100)).seen.map((n) => n.name).sort();
    expect(await names('ACME-LAB')).toEqual(['acme-lab']);
    expect(await names('10.77.')).toEqual(['acme-lab']);
    expect(await names('/28')).toEqual(['acme_dmz']);
    expect(await names('Globex')).toEqual(['default']);
    expect(await names('rockets')).toEqual(['acme-lab', 'acme_dmz', 'default']);
    expect(await names(acme.slug)).toEqual(['acme-lab', 'acme_dmz', 'default']);
    // LIKE's wildcards are plain characters here.
    expect(await names('%')).toEqual([]);
    expect(await names('acme_')).toEqual(['acme_dmz']);
  });

  it('is for administrators only', async () => {
    const someone = callerAs(t.db, await makeUser(t.db));
    for (const call of [someone.admin.networks.list({}), someone.admin.networks.portRange(), someone.admin.networks.setPortRange({ from: 30_000, to: 30_010 })]) {
      expect(await refusal(call)).toMatchObject({ code: 'FORBIDDEN', message: 'Only platform administrators can do this.' });
    }
    expect((await admin().portRange()).from).toBe(20_000);
  });

  it('setPortRange validates, is audited, and decides where new forwards come from (existing ones keep their ports)', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner);
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    const input = { tenantId: tenant.id, instanceId: inst.id };
    const before = await api.portForwards.create({ ...input, guestPort: 22 });
    expect(before.hostPort).toBe(20_000);

    expect(await refusal(admin().setPortRange({ from: 30_010, to: 30_000 }))).toEqual({
      code: 'BAD_REQUEST',
      reason: 'INVALID_INPUT',
      message: 'to: The range ends before it starts.',
      fieldErrors: { to: ['The range ends before it starts.'] },
    });
    expect((await refusal(admin().setPortRange({ from: 80, to: 30_000 }))).fieldErrors).toEqual({ from: ['Port forwards start at 1024 or above (below are the host’s own services).'] });
    expect((await refusal(admin().setPortRange({ from: 30_000, to: 70_000 }))).fieldErrors).toEqual({ to: ['Ports end at 65535.'] });
    expect(await admin().portRange()).toEqual({ from: 20_000, to: 29_999, forwards: 1, outside: 0 });
    const failed = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'admin.networks.setPortRange'), eq(auditLog.outcome, 'failure'), eq(auditLog.actorUserId, adminUser.id)))
      .orderBy(asc(auditLog.id));
    // (The failure audit keeps the zod error's own text, a JSON list of issues.)
    expect(failed.map((a) => a.detail)).toEqual([
      { code: 'BAD_REQUEST', message: expect.stringContaining('The range ends before it starts.') },
      { code: 'BAD_REQUEST', message: expect.stringContaining('Port forwards start at 1024 or above') },
      { code: 'BAD_REQUEST', message: expect.stringContaining('Ports end at 65535.') },
    ]);

    expect(await admin().setPortRange({ from: 40_000, to: 40_001 })).toEqual({ from: 40_000, to: 40_001, forwards: 1, outside: 1 });
    const [row] = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'settings.set'), eq(auditLog.targetId, 'portForwardRange')))
      .orderBy(desc(auditLog.id));
    expect(row).toMatchObject({ actorUserId: adminUser.id, outcome: 'success', targetType: 'setting', detail: { value: { from: 40_000, to: 40_001 } } });

    expect((await api.portForwards.create({ ...input, guestPort: 80 })).hostPort).toBe(40_000);
    expect((await api.portForwards.create({ ...input, guestPort: 443 })).hostPort).toBe(40_001);
    expect(await refusal(api.portForwards.create({ ...input, guestPort: 8080 }))).toMatchObject({
      reason: 'INSUFFICIENT_CAPACITY',
      message: 'No host port is free in 40000–40001; delete a port forward or ask an administrator to widen the range.',
      fieldErrors: { hostPort: ['No host port is free in 40000–40001; delete a port forward or ask an administrator to widen the range.'] },
    });
    expect((await refusal(api.portForwards.create({ ...input, guestPort: 8080, hostPort: 20_001 }))).message).toBe(
      'Host port 20001 is outside the range for port forwards, 40000–40001.',
    );
    // The forward made before the change still works on its old port.
    expect((await api.portForwards.list(input)).map((f) => f.hostPort)).toEqual([20_000, 40_000, 40_001]);
    expect(await admin().portRange()).toEqual({ from: 40_000, to: 40_001, forwards: 3, outside: 1 });
  });
});
