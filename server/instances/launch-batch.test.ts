// Launches decided together (launchInstances, and launchQueued that gathers
// them): each request is decided in order against what those before it took,
// a refused one takes nothing, and a batch keeps every rule a lone launch
// keeps — quota, a host's room, a spread group's hosts, a network's addresses.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../audit';
import { auditLog, hosts, instanceEvents, instances, networkInterfaces, usageSegments } from '../db/schema';
import { DomainError } from '../errors';
import { tenantUsage } from '../quotas';
import { setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { launchInstances, type LaunchRequest } from './launch';
import { launchQueued } from './launch-queue';
import type { Instance } from './queries';
import type { LaunchInput } from './validation';

let t: TestDatabase;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

async function tenantWithOwner(quota: Parameters<typeof setQuota>[2] = {}) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner, `batch-${Math.random().toString(36).slice(2, 8)}`);
  await setQuota(t.db, tenant.id, { instances: 100, vcpus: 100, ...quota });
  const actor: Actor = { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 'test' };
  return { owner, tenant, actor, api: callerAs(t.db, owner) };
}

const launch = (actor: Actor, input: Partial<LaunchInput> & { name: string }): LaunchRequest => ({ actor, input: { ...tiny, ...input } as LaunchInput });
const codes = (answers: (Instance | DomainError)[]) => answers.map((a) => (a instanceof DomainError ? a.code : 'ok'));

/** Only these hosts take launches (others are put in maintenance; each test sets up its own). */
async function onlyThese(ids: string[]) {
  for (const h of await t.db.select({ id: hosts.id }).from(hosts)) {
    await t.db
      .update(hosts)
      .set({ state: ids.includes(h.id) ? 'enabled' : 'maintenance' })
      .where(eq(hosts.id, h.id));
  }
}

describe('launches decided together', () => {
  it('decides each request in order against what those before it took; a refused one takes nothing', async () => {
    await onlyThese([hostId]);
    const { tenant, actor } = await tenantWithOwner({ instances: 10, vcpus: 4 });
    const answers = await launchInstances(t.db, tenant.id, [
      launch(actor, { name: 'a', vcpus: 3 }),
      launch(actor, { name: 'b', vcpus: 2 }), // 3 + 2 > 4
      launch(actor, { name: 'c', imageId: 'no-such-image' }),
      launch(actor, { name: 'd', memoryMiB: 64 }), // under the image's minimum
      launch(actor, { name: 'e', keyPairId: 'nobody' }),
      launch(actor, { name: 'f', vcpus: 1 }), // 3 + 1 = 4: fits, b took nothing
    ]);
    expect(codes(answers)).toEqual(['ok', 'QUOTA_EXCEEDED', 'INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT', 'ok']);
    expect((answers[1] as DomainError).message).toBe('vCPUs quota exceeded: this launch needs 2, the tenant uses 3 of its 4 limit, so 1 is left.');
    expect((answers[3] as DomainError).field).toBe('memoryMiB');
    expect((answers[4] as DomainError).field).toBe('keyPairId');
    const admitted = answers.filter((a): a is Instance => !(a instanceof DomainError));
    expect(admitted.map((a) => a.name)).toEqual(['a', 'f']);
    expect(admitted.every((a) => a.state === 'pending' && a.hostId === hostId && a.hostName)).toBe(true);
    const usage = await tenantUsage(t.db, tenant.id);
    expect([usage.instances, usage.vcpus, usage.nics]).toEqual([2, 4, 2]);
    // Each admitted one has what a lone launch has: its NIC, opening segments, one event, one audit entry, one start job.
    const ids = admitted.map((a) => a.id);
    const count = async (q: Promise<{ n: number }[]>) => (await q)[0]!.n;
    expect(await count(t.db.select({ n: sql<number>`count(*)::int` }).from(networkInterfaces).where(inArray(networkInterfaces.instanceId, ids)))).toBe(2);
    expect(await count(t.db.select({ n: sql<number>`count(distinct ${usageSegments.instanceId})::int` }).from(usageSegments).where(inArray(usageSegments.instanceId, ids)))).toBe(2);
    expect(await count(t.db.select({ n: sql<number>`count(*)::int` }).from(instanceEvents).where(inArray(instanceEvents.instanceId, ids)))).toBe(2);
    expect(await count(t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog).where(and(eq(auditLog.action, 'instance.launch'), inArray(auditLog.targetId, ids))))).toBe(2);
    const { rows } = await t.db.execute<{ queue_name: string }>(sql`select queue_name from graphile_worker.jobs where queue_name in ${ids.map((i) => `instance:${i}`)}`);
    expect(rows.map((r) => r.queue_name).sort()).toEqual(ids.map((i) => `instance:${i}`).sort());
  });

  it('hands out a network’s lowest free addresses in order; one that does not fit whole gives back what it had', async () => {
    await onlyThese([hostId]);
    const { tenant, actor, api } = await tenantWithOwner();
    const net = await api.networks.create({ tenantId: tenant.id, name: 'small', cidr: '10.77.0.0/28' }); // 13 addresses
    const on = (n: number) => Array.from({ length: n }, () => ({ networkId: net.id }));
    const answers = await launchInstances(t.db, tenant.id, [
      launch(actor, { name: 'six', nics: 6, interfaces: on(6) }),
      launch(actor, { name: 'six too', nics: 6, interfaces: on(6) }),
      launch(actor, { name: 'too-many', nics: 2, interfaces: on(2) }), // 1 left: takes none
      launch(actor, { name: 'last', nics: 1, interfaces: on(1) }),
    ]);
    expect(codes(answers)).toEqual(['ok', 'ok', 'INSUFFICIENT_CAPACITY', 'ok']);
    expect((answers[2] as DomainError).message).toContain('Network “small” (10.77.0.0/28) is full: all 13 of its addresses are in use.');
    const nics = await t.db
      .select({ name: instances.name, address: sql<string>`host(${networkInterfaces.address})`, position: networkInterfaces.position })
      .from(networkInterfaces)
      .innerJoin(instances, eq(instances.id, networkInterfaces.instanceId))
      .where(eq(networkInterfaces.networkId, net.id))
      .orderBy(networkInterfaces.address);
    // .1 is the gateway: .2 to .14, each once, in the order asked.
    expect(nics.map((n) => n.address)).toEqual(Array.from({ length: 13 }, (_, i) => `10.77.0.${i + 2}`));
    expect(nics.map((n) => n.name)).toEqual([...Array(6).fill('six'), ...Array(6).fill('six too'), 'last']);
  });

  it('takes a host’s room as it places each one, and keeps a spread group’s members apart within the batch', async () => {
    const a = (await setUpCompute(t.db, { cpus: 4 })).hostId;
    const b = (await setUpCompute(t.db, { cpus: 4 })).hostId;
    await onlyThese([a, b]);
    await t.db.update(hosts).set({ cpuRatioPct: 100 }).where(inArray(hosts.id, [a, b]));
    const { tenant, actor } = await tenantWithOwner();
    const grouped = await launchInstances(t.db, tenant.id, [
      launch(actor, { name: 'g1', spreadGroup: 'web' }),
      launch(actor, { name: 'g2', spreadGroup: 'web' }),
      launch(actor, { name: 'g3', spreadGroup: 'web' }),
    ]);
    expect(codes(grouped)).toEqual(['ok', 'ok', 'INSUFFICIENT_CAPACITY']);
    expect((grouped[2] as DomainError).message).toMatch(/^Spread group web has an instance on 2 hosts already, and no other host has room/);
    expect(new Set(grouped.slice(0, 2).map((g) => (g as Instance).hostId))).toEqual(new Set([a, b]));
    // 8 vCPUs in all, 2 taken: 6 more fit, the seventh finds no host with room — not a lost claim at commit.
    const filled = await launchInstances(
      t.db,
      tenant.id,
      Array.from({ length: 7 }, (_, i) => launch(actor, { name: `f${i}` })),
    );
    expect(codes(filled)).toEqual([...Array(6).fill('ok'), 'INSUFFICIENT_CAPACITY']);
    expect((filled[6] as DomainError).message).toMatch(/^No host has room for 1 vCPU/);
    const perHost = await t.db.select({ hostId: instances.hostId, n: sql<number>`count(*)::int` }).from(instances).where(eq(instances.tenantId, tenant.id)).groupBy(instances.hostId);
    expect(perHost.map((p) => p.n).sort()).toEqual([4, 4]);
  });

  it('gathers a tenant’s launches asked meanwhile into one transaction, and a fault in one fails it alone', async () => {
    await onlyThese([hostId]);
    const { tenant, actor } = await tenantWithOwner({ instances: 6 });
    const poisoned = { ...tiny, name: 'poisoned' } as LaunchInput;
    Object.defineProperty(poisoned, 'memoryMiB', { get: () => { throw new Error('a fault while reading this request'); }, enumerable: true });
    const asked = [
      ...Array.from({ length: 4 }, (_, i) => ({ ...tiny, name: `q${i}` })),
      poisoned,
      ...Array.from({ length: 4 }, (_, i) => ({ ...tiny, name: `r${i}` })),
    ];
    const settled = await Promise.allSettled(asked.map((input) => launchQueued(t.db, actor, tenant.id, input)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect(String((settled[4] as PromiseRejectedResult).reason)).toContain('a fault while reading this request');
    // Past the quota of 6: the last two are refused with the quota's sentence, not the fault.
    expect(((settled[7] as PromiseRejectedResult).reason as DomainError).code).toBe('QUOTA_EXCEEDED');
    expect(((settled[8] as PromiseRejectedResult).reason as DomainError).code).toBe('QUOTA_EXCEEDED');
    // The first went alone at once; the others waited for it and were tried together, then (after the fault) each alone.
    const rows = await t.db.select({ name: instances.name, createdAt: instances.createdAt }).from(instances).where(eq(instances.tenantId, tenant.id));
    expect(rows.map((r) => r.name).sort()).toEqual(['q0', 'q1', 'q2', 'q3', 'r0', 'r1']);
    expect(new Set(rows.map((r) => r.createdAt.getTime())).size).toBe(6);
  });

  it('gathers launches asked meanwhile into one transaction: its rows share its start time', async () => {
    await onlyThese([hostId]);
    const { tenant, actor } = await tenantWithOwner();
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => launchQueued(t.db, actor, tenant.id, { ...tiny, name: `m${i}` } as LaunchInput)));
    const rows = await t.db.select({ id: instances.id, createdAt: instances.createdAt }).from(instances).where(inArray(instances.id, made.map((m) => m.id)));
    const starts = new Map<number, number>();
    for (const r of rows) starts.set(r.createdAt.getTime(), (starts.get(r.createdAt.getTime()) ?? 0) + 1);
    // now() is the transaction's start: the first alone, the eleven asked while it ran in one.
    expect([...starts.values()].sort((x, y) => x - y)).toEqual([1, 11]);
    const addresses = await t.db.select({ a: sql<string>`host(${networkInterfaces.address})` }).from(networkInterfaces).where(inArray(networkInterfaces.instanceId, made.map((m) => m.id)));
    expect(new Set(addresses.map((x) => x.a)).size).toBe(12);
  });

  it('a burst through the API over several tenants keeps every quota exactly', async () => {
    await onlyThese([hostId]);
    const ts = await Promise.all([tenantWithOwner({ instances: 7 }), tenantWithOwner({ instances: 3 }), tenantWithOwner({ instances: 11 })]);
    const settled = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => {
        const { tenant, api } = ts[i % 3]!;
        return api.instances.launch({ tenantId: tenant.id, ...tiny, name: `burst-${i}` });
      }),
    );
    for (const [k, limit] of [7, 3, 11].entries()) {
      const mine = settled.filter((_, i) => i % 3 === k);
      expect(mine.filter((s) => s.status === 'fulfilled')).toHaveLength(limit);
      for (const s of mine) if (s.status === 'rejected') expect(String(s.reason)).toMatch(/Instances quota exceeded/);
      expect((await tenantUsage(t.db, ts[k]!.tenant.id)).instances).toBe(limit);
    }
  });
});
