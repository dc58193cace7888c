// Placement under concurrency: a host is chosen without a lock and claimed by
// the new instance's row as its transaction commits (instances_claim_host,
// migration 0022), so bursts from many tenants must still never put more on a
// host than its capacity, a lost claim must land on another host instead of
// failing, admins changing a host while launches are in flight must not
// deadlock with them, and a launch must hold its host's row for no longer
// than its commit.
import { TRPCError } from '@trpc/server';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbOrTx } from '../db/client';
import { pgError } from '../db/pg-errors';
import { hosts, instances } from '../db/schema';
import { DomainError } from '../errors';
import { newInstanceId } from '../instances/ids';
import { launchInstance } from '../instances/launch';
import { setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { allocatedOn, hostCapacity, HOST_STALE_AFTER_SECONDS, PLACEMENT_LOST, placementTransaction, reserveOnHost } from '.';

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

  it('a new instance claims room on its host as its transaction commits, by the same arithmetic as hostCapacity', async () => {
    const { hostId } = await setUpCompute(t.db);
    // 3 vCPUs (2 cores at 150 %), 1,000 MiB (3,000 MiB at 50 % less a 500 MiB reserve), 10 GiB.
    await t.db.update(hosts).set({ cpus: 2, cpuRatioPct: 150, memoryMiB: 3000, ramRatioPct: 50, ramReserveMiB: 500, diskGiB: 10 }).where(eq(hosts.id, hostId));
    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    expect(hostCapacity(host!)).toEqual({ vcpus: 3, memoryMiB: 1000, diskGiB: 10 });
    const { ids } = await tenants(1);
    // Pending rows inserted straight, as admitInstance inserts them: only the commit checks.
    const place = (size: { vcpus: number; memoryMiB: number; diskGiB: number }) =>
      t.db
        .transaction(async (tx) => {
          await tx.insert(instances).values({ id: newInstanceId(), tenantId: ids[0]!, name: 'claim', imageId: tiny.imageId, nics: 1, hostId, state: 'pending', ...size });
        })
        .then(
          () => 'placed',
          (e: unknown) => pgError(e)?.code ?? Promise.reject(e),
        );
    for (const dimension of [
      { fill: { vcpus: 3, memoryMiB: 64, diskGiB: 1 }, over: { vcpus: 1, memoryMiB: 64, diskGiB: 1 } },
      { fill: { vcpus: 1, memoryMiB: 1000, diskGiB: 1 }, over: { vcpus: 1, memoryMiB: 1, diskGiB: 1 } },
      { fill: { vcpus: 1, memoryMiB: 64, diskGiB: 10 }, over: { vcpus: 1, memoryMiB: 64, diskGiB: 1 } },
    ]) {
      await t.db.delete(instances).where(eq(instances.hostId, hostId));
      expect(await place(dimension.fill)).toBe('placed');
      expect(await place(dimension.over)).toBe(PLACEMENT_LOST);
      expect(await onHost(hostId)).toBe(1);
    }
    // What is not counted leaves room: a terminated instance holds nothing, a suspended one only its disk.
    await t.db.update(instances).set({ state: 'suspended' }).where(eq(instances.hostId, hostId));
    expect(await place({ vcpus: 3, memoryMiB: 1000, diskGiB: 0 })).toBe('placed');
  });

  it('a host put in maintenance, or silent past the heartbeat limit, between the choice and the commit refuses the claim', async () => {
    const { hostId } = await setUpCompute(t.db);
    const { ids } = await tenants(1);
    // The trigger's limit is placement's.
    const { rows } = await t.db.execute<{ args: string }>(sql`select encode(tgargs, 'escape') as args from pg_trigger where tgname = 'instances_claim_host'`);
    expect(rows[0]!.args.replace(/\\000$/, '')).toBe(String(HOST_STALE_AFTER_SECONDS));
    const placeWhile = (change: () => Promise<unknown>) =>
      t.db
        .transaction(async (tx) => {
          await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'late', hostId, state: 'pending' });
          await change(); // another connection, while this transaction is open
        })
        .then(
          () => 'placed',
          (e: unknown) => pgError(e)?.code ?? Promise.reject(e),
        );
    expect(await placeWhile(() => t.db.update(hosts).set({ state: 'maintenance' }).where(eq(hosts.id, hostId)))).toBe(PLACEMENT_LOST);
    await t.db.update(hosts).set({ state: 'enabled' }).where(eq(hosts.id, hostId));
    const beat = (ago: number) => t.db.update(hosts).set({ heartbeatAt: sql`now() - make_interval(secs => ${ago})` }).where(eq(hosts.id, hostId));
    expect(await placeWhile(() => beat(HOST_STALE_AFTER_SECONDS + 5))).toBe(PLACEMENT_LOST);
    expect(await placeWhile(() => beat(HOST_STALE_AFTER_SECONDS - 5))).toBe('placed');
    expect(await onHost(hostId)).toBe(1);
  });

  it('a placement lost at commit is run again, a few times, then refused naming the host', async () => {
    const { hostId } = await setUpCompute(t.db);
    await t.db.update(hosts).set({ cpus: 1, cpuRatioPct: 100 }).where(eq(hosts.id, hostId));
    const [host] = await t.db.select().from(hosts).where(eq(hosts.id, hostId));
    const { ids } = await tenants(1);
    let runs = 0;
    const err = await placementTransaction(t.db, async (tx) => {
      runs++;
      await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'big', vcpus: 2, hostId, state: 'pending' });
    }).catch((e: unknown) => e);
    expect(runs).toBe(3);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'INSUFFICIENT_CAPACITY', message: expect.stringContaining(`Host ${host!.name} filled up`) });
    expect(await onHost(hostId)).toBe(0);
  });

  it("holds the host's row only while a launch commits: another tenant's launch there is not held up by one still open", async () => {
    const { hostId } = await setUpCompute(t.db);
    await onlyThese([hostId]);
    const { owner, ids } = await tenants(2);
    let other: Awaited<ReturnType<typeof launchInstance>> | undefined;
    await t.db.transaction(async (tx) => {
      // A launch of the first tenant, admitted and not committed yet…
      await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'open', hostId, state: 'pending' });
      // …does not stop the second tenant's launch on the same host from committing meanwhile.
      other = await callerAs(t.db, owner).instances.launch({ tenantId: ids[1]!, ...tiny, name: 'meanwhile' });
    });
    expect(other?.hostId).toBe(hostId);
    expect(await onHost(hostId)).toBe(2);
  });

  it("launches nested in a caller's transaction (EC2's RunInstances) claim at once, so the caller keeps those that fit", async () => {
    const { hostId } = await setUpCompute(t.db);
    await onlyThese([hostId]);
    await t.db.update(hosts).set({ cpus: 3, cpuRatioPct: 100 }).where(eq(hosts.id, hostId));
    const { owner, ids } = await tenants(2);
    const actor = { kind: 'user' as const, userId: owner.id, email: owner.email, isAdmin: false, requestId: 'nested' };
    const launch = (db: DbOrTx, tenantId: string, name: string) =>
      launchInstance(db, actor, tenantId, { ...tiny, name }).then(
        () => 'placed',
        (e: unknown) => (e instanceof DomainError ? e.code : Promise.reject(e)),
      );
    // One committed first, so the host's job queue task exists (a launch waits on another's first one of a host).
    expect(await launch(t.db, ids[1]!, 'before')).toBe('placed');
    let outsider: Promise<string> | undefined;
    const kept = await t.db.transaction(async (tx) => {
      const first = await launch(tx, ids[0]!, 'nested-1');
      // Claimed already: another tenant's launch now waits at its commit for this transaction…
      outsider = launch(t.db, ids[1]!, 'outsider');
      await waitForLockWaiter();
      // …so the host's last room is still this caller's.
      const second = await launch(tx, ids[0]!, 'nested-2');
      const third = await launch(tx, ids[0]!, 'nested-3');
      return [first, second, third];
    });
    expect(kept).toEqual(['placed', 'placed', 'INSUFFICIENT_CAPACITY']);
    expect(await outsider).toBe('INSUFFICIENT_CAPACITY');
    expect(await onHost(hostId)).toBe(3);
  });

  it("a nested claim leaves the caller's later rows deferred: SET CONSTRAINTS IMMEDIATE does not outlast it", async () => {
    const { hostId } = await setUpCompute(t.db);
    await onlyThese([hostId]);
    await t.db.update(hosts).set({ cpus: 1, cpuRatioPct: 100 }).where(eq(hosts.id, hostId));
    const { owner, ids } = await tenants(1);
    const actor = { kind: 'user' as const, userId: owner.id, email: owner.email, isAdmin: false, requestId: 'nested-deferred' };
    let atInsert: string | undefined;
    const outcome = await t.db
      .transaction(async (tx) => {
        await launchInstance(tx, actor, ids[0]!, { ...tiny, name: 'nested' }); // claimed at once: the host is full now
        // A row that does not fit, inserted afterwards by the caller: its claim waits for the commit, as it would have.
        atInsert = await tx
          .transaction((sp) => sp.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'later', hostId, state: 'pending' }))
          .then(
            () => 'deferred',
            (e: unknown) => pgError(e)?.code ?? Promise.reject(e),
          );
      })
      .then(
        () => 'committed',
        (e: unknown) => pgError(e)?.code ?? Promise.reject(e),
      );
    expect(atInsert).toBe('deferred');
    expect(outcome).toBe(PLACEMENT_LOST);
    expect(await onHost(hostId)).toBe(0);
  });

  it('claims only under READ COMMITTED, and refuses any other isolation level with a sentence saying so', async () => {
    const { hostId } = await setUpCompute(t.db);
    const { ids } = await tenants(1);
    for (const isolationLevel of ['repeatable read', 'serializable'] as const) {
      const err = await t.db
        .transaction(async (tx) => {
          await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'isolated', hostId, state: 'pending' });
        }, { isolationLevel })
        .catch((e: unknown) => e);
      expect(pgError(err)?.code).toBe('CRPL2');
      expect(String((err as Error & { cause?: Error }).cause?.message)).toMatch(
        new RegExp(`cannot claim room on its host under ${isolationLevel.toUpperCase()} isolation: placement counts concurrent claims only under READ COMMITTED`),
      );
      // reserveOnHost, which reads the host's sums the same way, refuses too.
      await expect(
        t.db.transaction((tx) => reserveOnHost(tx, hostId, { vcpus: 1 }, { doing: 'grow', otherwise: '' }), { isolationLevel }),
      ).rejects.toThrow(`room on a host is reserved only under READ COMMITTED, and this transaction is ${isolationLevel}`);
    }
    expect(await onHost(hostId)).toBe(0);
    // The pool's transactions are READ COMMITTED by default (createDb pins it: server/db/client.test.ts).
    await t.db.transaction(async (tx) => {
      await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'committed', hostId, state: 'pending' });
    });
    expect(await onHost(hostId)).toBe(1);
  });

  it('spreads launches to the emptiest host by default, and packs them onto the fullest that fits when an admin says pack', async () => {
    // In placement's order (ties go to the first by id).
    const made = [await setUpCompute(t.db), await setUpCompute(t.db), await setUpCompute(t.db)].map((c) => c.hostId).sort();
    await onlyThese(made);
    for (const id of made) await t.db.update(hosts).set({ cpus: 4, cpuRatioPct: 100, memoryMiB: 8192, ramRatioPct: 100, ramReserveMiB: 0 }).where(eq(hosts.id, id));
    const admin = await makeUser(t.db, { isAdmin: true });
    const { owner, ids } = await tenants(1);
    const launch = async (name: string) => {
      const r = await callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name });
      return r.id;
    };
    const counts = async () => Promise.all(made.map(onHost));
    // One at a time, as a user would: each sees the last one placed.
    for (let i = 0; i < 6; i++) await launch(`spread-${i}`);
    expect(await counts()).toEqual([2, 2, 2]);
    // The scarcer resource decides: a host with its vCPUs nearly gone is not "empty" for its free memory.
    await t.db.update(hosts).set({ cpus: 3 }).where(eq(hosts.id, made[0]!));
    await launch('spread-6');

    expect(await counts()).toEqual([2, 3, 2]);

    // Pack: the fullest host that fits (by the scarcer resource again), until it is full, then the next fullest.
    await callerAs(t.db, admin).admin.hosts.setPlacement({ strategy: 'pack' });
    await launch('pack-0');
    expect(await counts()).toEqual([2, 4, 2]);
    await launch('pack-1');
    expect(await counts()).toEqual([3, 4, 2]);
    await launch('pack-2');
    expect(await counts()).toEqual([3, 4, 3]);
    await expect(callerAs(t.db, admin).admin.hosts.setPlacement({ strategy: 'scatter' as 'pack' })).rejects.toThrow(/spread or pack/);
    await callerAs(t.db, admin).admin.hosts.setPlacement({ strategy: 'spread' });
  });

  it('puts the instances of a spread group on different hosts, even launched all at once, and says so when no other host is left', async () => {
    const made = [await setUpCompute(t.db), await setUpCompute(t.db), await setUpCompute(t.db)].map((c) => c.hostId);
    await onlyThese(made);
    const admin = await makeUser(t.db, { isAdmin: true });
    await callerAs(t.db, admin).admin.hosts.setPlacement({ strategy: 'pack' }); // pack would put them all on one host
    const { owner, ids } = await tenants(1);
    const launched = await Promise.all(['a', 'b', 'c'].map((n) => callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name: `web-${n}`, spreadGroup: 'web' })));
    expect(new Set(launched.map((i) => i.hostId)).size).toBe(3);
    expect(launched.every((i) => i.spreadGroup === 'web')).toBe(true);
    // A fourth has nowhere to go: every live host has one.
    const fourth = await codeOf(callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name: 'web-d', spreadGroup: 'web' }));
    expect(fourth).toBe('INSUFFICIENT_CAPACITY');
    await expect(callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name: 'web-d', spreadGroup: 'web' })).rejects.toThrow(/Spread group web has an instance on 3 hosts already/);
    // Another group, or none, is free to share a host; a bad name is refused with a sentence.
    expect((await callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name: 'db-a', spreadGroup: 'db' })).hostId).toBeDefined();
    await expect(callerAs(t.db, owner).instances.launch({ tenantId: ids[0]!, ...tiny, name: 'x', spreadGroup: 'Web Servers' })).rejects.toThrow(/lower-case letters, digits and dashes/);
    // A move keeps the group apart too: no host is free of the group but its own.
    await t.db.update(instances).set({ state: 'running' }).where(eq(instances.id, launched[0]!.id));
    await expect(callerAs(t.db, admin).admin.instances.migrate({ instanceId: launched[0]!.id, targetHostId: launched[1]!.hostId })).rejects.toThrow(/spread group web runs on that host/);
    await callerAs(t.db, admin).admin.hosts.setPlacement({ strategy: 'spread' });
  });

  it("judges the host's heartbeat by the claim's own clock, not by when its transaction began", async () => {
    const { hostId } = await setUpCompute(t.db);
    const { ids } = await tenants(1);
    const outcome = await t.db
      .transaction(async (tx) => {
        // Alive when the transaction began, by half a second; silent past the limit by the time it commits.
        await tx.update(hosts).set({ heartbeatAt: sql`now() - make_interval(secs => ${HOST_STALE_AFTER_SECONDS - 0.5})` }).where(eq(hosts.id, hostId));
        await tx.insert(instances).values({ ...tiny, id: newInstanceId(), tenantId: ids[0]!, name: 'slow', hostId, state: 'pending' });
        await new Promise((r) => setTimeout(r, 1000));
      })
      .then(
        () => 'placed',
        (e: unknown) => pgError(e)?.code ?? Promise.reject(e),
      );
    expect(outcome).toBe(PLACEMENT_LOST);
    expect(await onHost(hostId)).toBe(0);
  });
});

/** Until some backend of this test's database waits for a lock. */
async function waitForLockWaiter() {
  for (let i = 0; i < 500; i++) {
    const { rows } = await t.db.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
    if (rows[0]!.n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no backend waited for a lock');
}
