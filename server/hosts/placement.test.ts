// Placement under concurrency: a host is chosen without a lock and claimed as
// the launch transaction's last step (claimPlacement), so bursts from many
// tenants must still never put more on a host than its capacity, a lost
// claim must land on another host instead of failing, and admins changing a
// host while launches are in flight must not deadlock with them.
import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hosts, instances } from '../db/schema';
import { setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { allocatedOn, hostCapacity } from '.';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof TRPCError ? ((e.cause as { code?: string } | undefined)?.code ?? e.code) : Promise.reject(e)),
  );

async function tenants(n: number) {
  const owner = await makeUser(t.db);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const tenant = await makeTenant(t.db, owner, `placement-${i}`);
    await setQuota(t.db, tenant.id, { instances: 100, vcpus: 100 });
    ids.push(tenant.id);
  }
  return { owner, ids };
}

/** Only these hosts take launches (each test sets up its own). */
async function onlyThese(ids: string[]) {
  for (const h of await t.db.select({ id: hosts.id }).from(hosts)) {
    if (!ids.includes(h.id)) await t.db.update(hosts).set({ state: 'maintenance' }).where(eq(hosts.id, h.id));
  }
}

const onHost = async (hostId: string) => (await t.db.select({ id: instances.id }).from(instances).where(eq(instances.hostId, hostId))).length;

describe('placement', () => {
  it('concurrent launches of many tenants fill a host exactly to its capacity, never past it', async () => {
    const { hostId } = await setUpCompute(t.db);
    await onlyThese([hostId]);
    await t.db.update(hosts).set({ cpus: 12, cpuRatioPct: 100 }).where(eq(hosts.id, hostId));
    const { owner, ids } = await tenants(6);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => codeOf(callerAs(t.db, owner).instances.launch({ tenantId: ids[i % ids.length]!, ...tiny, name: `fill-${i}` }))),
    );
    expect(results.filter((r) => r === null)).toHaveLength(12);
    expect(results.filter((r) => r === 'INSUFFICIENT_CAPACITY')).toHaveLength(18);
    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    expect(await allocatedOn(t.db, hostId)).toMatchObject({ vcpus: hostCapacity(host!).vcpus });
    expect(await onHost(hostId)).toBe(12);
  });

  it('a launch that loses its chosen host to a concurrent one is placed on the next host with room', async () => {
    const a = await setUpCompute(t.db);
    const b = await setUpCompute(t.db);
    await onlyThese([a.hostId, b.hostId]);
    const [first, second] = [a.hostId, b.hostId].sort(); // placement's order
    // The first host in placement order has room for 4 one-vCPU instances; every launch chooses it while it looks free.
    await t.db.update(hosts).set({ cpus: 4, cpuRatioPct: 100 }).where(eq(hosts.id, first!));
    const { owner, ids } = await tenants(5);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => codeOf(callerAs(t.db, owner).instances.launch({ tenantId: ids[i % ids.length]!, ...tiny, name: `spill-${i}` }))),
    );
    expect(results.filter((r) => r !== null)).toEqual([]);
    expect(await onHost(first!)).toBe(4);
    expect(await onHost(second!)).toBe(21);
  });

  it('an admin changing a host while launches are in flight neither deadlocks with them nor loses any', async () => {
    const { hostId } = await setUpCompute(t.db);
    await onlyThese([hostId]);
    const admin = await makeUser(t.db, { isAdmin: true });
    const { owner, ids } = await tenants(4);
    const [launches, updates] = await Promise.all([
      Promise.all(Array.from({ length: 24 }, (_, i) => codeOf(callerAs(t.db, owner).instances.launch({ tenantId: ids[i % ids.length]!, ...tiny, name: `busy-${i}` })))),
      Promise.all(Array.from({ length: 6 }, (_, i) => codeOf(callerAs(t.db, admin).admin.hosts.update({ hostId, cpuRatioPct: 400 + i * 10 })))),
    ]);
    expect(launches.filter((r) => r !== null)).toEqual([]);
    expect(updates.filter((r) => r !== null)).toEqual([]);
    expect(await onHost(hostId)).toBe(24);
  });
});
