import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceEvents, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { Reconciler } from '../reconciler';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

const drain = () => drainJobs(t.db, t.url, hostId, driver);
type Span = { resource: string; quantity: number; from: number; to: number | null };

async function segmentsOf(instanceId: string): Promise<Span[]> {
  const rows = await t.db.select().from(usageSegments).where(eq(usageSegments.instanceId, instanceId)).orderBy(asc(usageSegments.startedAt), asc(usageSegments.id));
  return rows.map((r) => ({ resource: r.resource, quantity: r.quantity, from: r.startedAt.getTime(), to: r.endedAt?.getTime() ?? null }));
}

/** What the ledger must say, derived independently from the instance's event history. */
async function expectedFromEvents(instanceId: string, spec: { vcpus: number; memoryMiB: number; diskGiB: number; nics: number }): Promise<Span[]> {
  const events = await t.db.select().from(instanceEvents).where(eq(instanceEvents.instanceId, instanceId)).orderBy(asc(instanceEvents.id));
  const spans: Span[] = [];
  let runningSince: number | null = null;
  let existsSince: number | null = null;
  for (const e of events) {
    if (!e.toState) continue;
    const at = e.at.getTime();
    if (e.fromState === null && e.toState === 'pending') existsSince = at;
    if (e.toState === 'running' && e.fromState !== 'running') runningSince = at;
    if (e.fromState === 'running' && e.toState !== 'running' && runningSince !== null) {
      spans.push({ resource: 'vcpu', quantity: spec.vcpus, from: runningSince, to: at }, { resource: 'memory_mib', quantity: spec.memoryMiB, from: runningSince, to: at });
      runningSince = null;
    }
    if ((e.toState === 'terminating' || e.toState === 'terminated') && existsSince !== null) {
      spans.push({ resource: 'disk_gib', quantity: spec.diskGiB, from: existsSince, to: at }, { resource: 'nic', quantity: spec.nics, from: existsSince, to: at });
      existsSince = null;
    }
  }
  if (runningSince !== null) spans.push({ resource: 'vcpu', quantity: spec.vcpus, from: runningSince, to: null }, { resource: 'memory_mib', quantity: spec.memoryMiB, from: runningSince, to: null });
  if (existsSince !== null) spans.push({ resource: 'disk_gib', quantity: spec.diskGiB, from: existsSince, to: null }, { resource: 'nic', quantity: spec.nics, from: existsSince, to: null });
  const key = (s: Span) => `${s.resource}|${s.from}`;
  return spans.sort((a, b) => key(a).localeCompare(key(b)));
}

const sorted = (s: Span[]) => [...s].sort((a, b) => `${a.resource}|${a.from}`.localeCompare(`${b.resource}|${b.from}`));

function noOverlaps(spans: Span[]) {
  for (const r of ['vcpu', 'memory_mib', 'disk_gib', 'nic']) {
    const list = spans.filter((s) => s.resource === r).sort((a, b) => a.from - b.from);
    for (let i = 1; i < list.length; i++) expect(list[i - 1]!.to, `${r} segments overlap`).not.toBeNull();
    for (let i = 1; i < list.length; i++) expect(list[i]!.from).toBeGreaterThanOrEqual(list[i - 1]!.to!);
  }
}

/** A small deterministic PRNG, so a failure replays with its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('usage ledger', () => {
  it('opens disk and NIC segments at launch, compute while running, and closes all at terminate', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner).instances;
    const spec = { ...tiny, vcpus: 2, memoryMiB: 384, diskGiB: 2, nics: 2 };
    const inst = await api.launch({ tenantId: tenant.id, ...spec });
    expect((await segmentsOf(inst.id)).map((s) => [s.resource, s.quantity, s.to])).toEqual([
      ['disk_gib', 2, null],
      ['nic', 2, null],
    ]);
    await drain();
    expect((await segmentsOf(inst.id)).filter((s) => s.to === null).map((s) => s.resource).sort()).toEqual(['disk_gib', 'memory_mib', 'nic', 'vcpu']);
    await api.stop({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await segmentsOf(inst.id)).filter((s) => s.to === null).map((s) => s.resource).sort()).toEqual(['disk_gib', 'nic']);
    await api.terminate({ tenantId: tenant.id, instanceId: inst.id });
    expect((await segmentsOf(inst.id)).every((s) => s.to !== null)).toBe(true);
    expect(sorted(await segmentsOf(inst.id))).toEqual(await expectedFromEvents(inst.id, spec));
  });

  it('a crash detected by the reconciler closes compute at the time it was detected', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const inst = await callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny });
    await drain();
    driver.crash(inst.id);
    await new Reconciler({ db: t.db, driver, hostId, log: () => undefined }).sweep();
    const open = (await segmentsOf(inst.id)).filter((s) => s.to === null).map((s) => s.resource).sort();
    expect(open).toEqual(['disk_gib', 'nic']);
    expect(sorted(await segmentsOf(inst.id))).toEqual(await expectedFromEvents(inst.id, tiny));
  });

  it.each([1, 2, 3])('matches the event history with no overlap or gap over a random life (seed %i)', async (seed) => {
    const random = rng(seed);
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    await setQuota(t.db, tenant.id, {});
    const api = callerAs(t.db, owner).instances;
    const rec = new Reconciler({ db: t.db, driver, hostId, log: () => undefined });
    const ids: string[] = [];
    for (let step = 0; step < 24; step++) {
      const roll = random();
      if (roll < 0.2 || ids.length === 0) {
        ids.push((await api.launch({ tenantId: tenant.id, ...tiny, vcpus: 1 + Math.floor(random() * 3) })).id);
      } else {
        const id = ids[Math.floor(random() * ids.length)]!;
        const action = (['start', 'stop', 'reboot', 'terminate', 'crash'] as const)[Math.floor(random() * 5)]!;
        if (action === 'crash') {
          if ((await driver.status(id).catch(() => null))?.state === 'running') driver.crash(id);
          await rec.sweep();
        } else {
          await api[action]({ tenantId: tenant.id, instanceId: id }).catch(() => undefined); // refusals are part of life
        }
      }
      if (random() < 0.6) await drain();
    }
    await drain();
    for (const id of ids) {
      const inst = await api.get({ tenantId: tenant.id, instanceId: id });
      const segments = await segmentsOf(id);
      noOverlaps(segments);
      expect(sorted(segments)).toEqual(await expectedFromEvents(id, inst));
    }
  });
});
