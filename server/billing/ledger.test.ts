import { asc, eq } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../audit';
import { instanceEvents, priceVersions, usageSegments } from '../db/schema';
import type { FakeHypervisor } from '../hypervisor';
import { Reconciler } from '../reconciler';
import { drainJobs, setQuota, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { chargeLines } from './charges';
import { DEFAULT_PRICES, seedPrices, setPrices } from './prices';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db, { bridged: true })); // NIC rates are billed on tenant networks
  await seedPrices(t.db);
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
  // While running: vCPUs, memory and the NICs' rates (each at the default 100 Mbit/s).
  const compute = (from: number, to: number | null): Span[] => [
    { resource: 'vcpu', quantity: spec.vcpus, from, to },
    { resource: 'memory_mib', quantity: spec.memoryMiB, from, to },
    { resource: 'bandwidth_mbit', quantity: spec.nics * 100, from, to },
  ];
  let runningSince: number | null = null;
  let existsSince: number | null = null;
  let savedSince: number | null = null;
  // The fake driver's state file: the guest's RAM and half a MiB of devices, billed in whole MiB.
  const saved = (from: number, to: number | null): Span => ({ resource: 'saved_state_mib', quantity: spec.memoryMiB + 1, from, to });
  for (const e of events) {
    if (!e.toState) continue;
    const at = e.at.getTime();
    if (e.toState === 'suspended' && savedSince === null) savedSince = at;
    if (savedSince !== null && e.toState !== 'suspended' && e.toState !== 'resuming') {
      spans.push(saved(savedSince, at));
      savedSince = null;
    }
    if (e.fromState === null && e.toState === 'pending') existsSince = at;
    if (e.toState === 'running' && e.fromState !== 'running') runningSince = at;
    if (e.fromState === 'running' && e.toState !== 'running' && runningSince !== null) {
      spans.push(...compute(runningSince, at));
      runningSince = null;
    }
    if ((e.toState === 'terminating' || e.toState === 'terminated') && existsSince !== null) {
      spans.push({ resource: 'disk_gib', quantity: spec.diskGiB, from: existsSince, to: at }, { resource: 'nic', quantity: spec.nics, from: existsSince, to: at });
      existsSince = null;
    }
  }
  if (runningSince !== null) spans.push(...compute(runningSince, null));
  if (savedSince !== null) spans.push(saved(savedSince, null));
  if (existsSince !== null) spans.push({ resource: 'disk_gib', quantity: spec.diskGiB, from: existsSince, to: null }, { resource: 'nic', quantity: spec.nics, from: existsSince, to: null });
  const key = (s: Span) => `${s.resource}|${s.from}`;
  return spans.sort((a, b) => key(a).localeCompare(key(b)));
}

const sorted = (s: Span[]) => [...s].sort((a, b) => `${a.resource}|${a.from}`.localeCompare(`${b.resource}|${b.from}`));

function noOverlaps(spans: Span[]) {
  for (const r of ['vcpu', 'memory_mib', 'disk_gib', 'nic', 'bandwidth_mbit', 'saved_state_mib']) {
    const list = spans.filter((s) => s.resource === r).sort((a, b) => a.from - b.from);
    for (let i = 1; i < list.length; i++) expect(list[i - 1]!.to, `${r} segments overlap`).not.toBeNull();
    for (let i = 1; i < list.length; i++) expect(list[i]!.from).toBeGreaterThanOrEqual(list[i - 1]!.to!);
  }
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
    expect((await segmentsOf(inst.id)).filter((s) => s.to === null).map((s) => s.resource).sort()).toEqual(['bandwidth_mbit', 'disk_gib', 'memory_mib', 'nic', 'vcpu']);
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

  it('a suspended instance bills its saved state instead of compute, until it resumes', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const api = callerAs(t.db, owner).instances;
    const inst = await api.launch({ tenantId: tenant.id, ...tiny });
    await drain();
    await api.suspend({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    const open = async () => (await segmentsOf(inst.id)).filter((s) => s.to === null).map((s) => [s.resource, s.quantity]).sort();
    expect(await open()).toEqual([['disk_gib', 1], ['nic', 1], ['saved_state_mib', tiny.memoryMiB + 1]]);
    await api.resume({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    expect((await open()).map(([r]) => r)).toEqual(['bandwidth_mbit', 'disk_gib', 'memory_mib', 'nic', 'vcpu']);
    expect(sorted(await segmentsOf(inst.id))).toEqual(await expectedFromEvents(inst.id, inst));
  });

  it('over random lives (launch, stop, start, reboot, suspend, resume, terminate, crash, price changes): segments match the events with no overlap or gap, and each invoice line equals a brute-force sum', { timeout: 180_000 }, async () => {
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('launch' as const), vcpus: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constantFrom('start' as const, 'stop' as const, 'reboot' as const, 'suspend' as const, 'resume' as const, 'terminate' as const, 'crash' as const), target: fc.nat() }),
      fc.record({ kind: fc.constant('price' as const), vcpuHour: fc.integer({ min: 0, max: 50_000 }), memoryGiBHour: fc.integer({ min: 0, max: 20_000 }) }),
      fc.record({ kind: fc.constant('drain' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 18 }), async (ops) => {
        const owner = await makeUser(t.db);
        const tenant = await makeTenant(t.db, owner);
        await setQuota(t.db, tenant.id, {});
        const api = callerAs(t.db, owner).instances;
        const rec = new Reconciler({ db: t.db, driver, hostId, log: () => undefined });
        const ids: string[] = [];
        for (const op of ops) {
          if (op.kind === 'launch') ids.push((await api.launch({ tenantId: tenant.id, ...tiny, vcpus: op.vcpus })).id);
          else if (op.kind === 'drain') await drain();
          else if (op.kind === 'price') await setPrices(t.db, systemActor('test'), { ...DEFAULT_PRICES, vcpuHour: op.vcpuHour, memoryGiBHour: op.memoryGiBHour });
          else if (ids.length > 0) {
            const id = ids[op.target % ids.length]!;
            if (op.kind === 'crash') {
              if ((await driver.status(id).catch(() => null))?.state === 'running') driver.crash(id);
              await rec.sweep();
            } else {
              await api[op.kind]({ tenantId: tenant.id, instanceId: id }).catch(() => undefined); // refusals are part of life
            }
          }
        }
        // End every life, so that every segment is closed and the brute force needs no "now".
        await drain();
        for (const id of ids) await api.terminate({ tenantId: tenant.id, instanceId: id }).catch(() => undefined);
        await drain();

        const prices = (await t.db.select().from(priceVersions).orderBy(asc(priceVersions.effectiveFrom))).map((p) => ({
          from: p.effectiveFrom.getTime(),
          perHour: { vcpu: p.vcpuHour, memory_mib: p.memoryGiBHour / 1024, disk_gib: p.diskGiBHour, nic: p.nicHour, bandwidth_mbit: p.bandwidthMbitHour, saved_state_mib: p.savedStateGiBHour / 1024 } as Record<string, number>,
        }));
        const lines = await chargeLines(t.db, tenant.id, new Date('2000-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z'));
        for (const id of ids) {
          const inst = await api.get({ tenantId: tenant.id, instanceId: id });
          const segments = await segmentsOf(id);
          noOverlaps(segments);
          const expected = await expectedFromEvents(id, inst);
          expect(sorted(segments)).toEqual(expected);
          // Brute force from the events alone: each span × each price version it meets, the 60 s minimum for compute.
          const want = new Map<string, number>();
          for (const span of expected) {
            const end = span.resource === 'vcpu' || span.resource === 'memory_mib' ? Math.max(span.to!, span.from + 60_000) : span.to!;
            prices.forEach((p, i) => {
              const a = Math.max(span.from, p.from);
              const b = Math.min(end, prices[i + 1]?.from ?? Infinity);
              if (b > a) want.set(span.resource, (want.get(span.resource) ?? 0) + (span.quantity * p.perHour[span.resource]! * (b - a)) / 3_600_000);
            });
          }
          for (const [resource, exact] of want) {
            const got = lines.find((l) => l.instanceId === id && l.resource === resource)?.amountMicro ?? 0;
            expect(Math.abs(got - exact), `${id} ${resource}`).toBeLessThanOrEqual(1); // rounded once, by SQL numeric vs JS double
          }
        }
      }),
      { numRuns: 6 },
    );
  });
});
