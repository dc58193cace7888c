// Guest monitoring against real PostgreSQL and the in-memory driver: rates
// from counters (and their resets), the sampler's rounds, the rollups'
// exactness against a brute-force computation over the raw rows, retention,
// and the tenant's view through instances.metrics.
import { and, asc, eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instanceSamples } from '../db/schema';
import type { FakeHypervisor, GuestStats } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { addRole, callerAs, makeTenant, makeUser, refusal } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { ratesBetween, type Reading } from './monitoring-rates';
import { maintainSamples } from './monitoring-rollup';
import { Sampler } from './monitoring-sampler';
import { rangeResolution, sampleSeconds } from './monitoring-tiers';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());
afterEach(() => {
  delete process.env.CIRRUS_SAMPLE_SECONDS;
});

const drain = () => drainJobs(t.db, t.url, hostId, driver);
const MiB = 1024 * 1024;

async function runningInstance(spec: Partial<typeof tiny> = {}) {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const api = callerAs(t.db, owner);
  const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, ...spec });
  await drain();
  return { owner, tenant, api, id: inst.id };
}

/** A sampler on the test host whose clock the test moves. */
function steppedSampler(host = hostId) {
  const clock = { ms: 1_000_000 };
  const sampler = new Sampler({ db: t.db, driver, hostId: host, everySeconds: 10, clock: () => clock.ms, log: () => undefined });
  return { sampler, clock };
}

const rawRows = (instanceId: string) =>
  t.db.select().from(instanceSamples).where(and(eq(instanceSamples.instanceId, instanceId), eq(instanceSamples.tier, 'raw'))).orderBy(asc(instanceSamples.at));

async function dbNow(): Promise<Date> {
  const r = await t.db.execute<{ ms: number }>(sql`select extract(epoch from now())::float8 * 1000 as ms`);
  return new Date(r.rows[0]!.ms);
}

const stats = (s: Partial<GuestStats>): GuestStats => ({ cpuTimeMs: 0, memoryMiB: 256, residentMiB: 100, disks: [], nics: [], ...s });
const reading = (atMs: number, s: Partial<GuestStats>): Reading => ({ atMs, stats: stats(s) });

describe('rates from cumulative counters', () => {
  it('CPU % of the vCPUs, disk and network bytes per second, memory as it is', () => {
    const a = reading(0, {
      cpuTimeMs: 1_000,
      disks: [{ device: 'vda', readBytes: 1_000, writeBytes: 0, readOps: 0, writeOps: 0 }, { device: 'vdb', readBytes: 0, writeBytes: 500, readOps: 0, writeOps: 0 }],
      nics: [{ mac: 'm0', rxBytes: 100, txBytes: 50 }, { mac: 'm1', rxBytes: 0, txBytes: 0 }],
    });
    const b = reading(10_000, {
      cpuTimeMs: 16_000,
      residentMiB: 120,
      disks: [{ device: 'vda', readBytes: 41_000, writeBytes: 0, readOps: 0, writeOps: 0 }, { device: 'vdb', readBytes: 0, writeBytes: 20_500, readOps: 0, writeOps: 0 }],
      nics: [{ mac: 'm0', rxBytes: 10_100, txBytes: 2_050 }, { mac: 'm1', rxBytes: 5_000, txBytes: 0 }],
    });
    expect(ratesBetween(a, b, 2)).toEqual({
      cpuPct: 75, // 15 s of CPU in 10 s of 2 vCPUs
      memoryTotalBytes: 256 * MiB,
      memoryResidentBytes: 120 * MiB,
      diskReadBps: 4_000,
      diskWriteBps: 2_000,
      netRxBps: 1_500,
      netTxBps: 200,
    });
  });

  it('a CPU counter that went backwards (a new guest process) is a new baseline, never a negative rate', () => {
    expect(ratesBetween(reading(0, { cpuTimeMs: 90_000 }), reading(10_000, { cpuTimeMs: 300 }), 1)).toBeNull();
    // …and no time passing says nothing either.
    expect(ratesBetween(reading(5, { cpuTimeMs: 0 }), reading(5, { cpuTimeMs: 10 }), 1)).toBeNull();
  });

  it('a device counter that went back, or a device that just appeared, adds nothing this once', () => {
    const disk = (device: string, readBytes: number) => ({ device, readBytes, writeBytes: 0, readOps: 0, writeOps: 0 });
    const a = reading(0, { disks: [disk('vda', 5_000), disk('vdb', 9_000)], nics: [{ mac: 'm0', rxBytes: 8_000, txBytes: 10 }] });
    const b = reading(1_000, { disks: [disk('vda', 6_000), disk('vdb', 100), disk('vdc', 7_000)], nics: [{ mac: 'm0', rxBytes: 20, txBytes: 30 }] });
    expect(ratesBetween(a, b, 1)).toMatchObject({ diskReadBps: 1_000, netRxBps: 0, netTxBps: 20 });
  });

  it('NICs the host cannot see give no network rate (null), not zero; CPU is at most 100 %', () => {
    const a = reading(0, { cpuTimeMs: 0, nics: [{ mac: 'm0', rxBytes: null, txBytes: null }] });
    const b = reading(1_000, { cpuTimeMs: 1_100, nics: [{ mac: 'm0', rxBytes: null, txBytes: null }] });
    expect(ratesBetween(a, b, 1)).toMatchObject({ cpuPct: 100, netRxBps: null, netTxBps: null, diskReadBps: 0 });
  });
});

describe('tiers and configuration', () => {
  it('each range reads its tier, in wider buckets when it would have more than 1000 points', () => {
    expect(rangeResolution('1h', 10)).toEqual({ tier: 'raw', seconds: 10, native: true });
    expect(rangeResolution('1h', 2)).toEqual({ tier: 'raw', seconds: 4, native: false });
    expect(rangeResolution('1d', 10)).toEqual({ tier: '1m', seconds: 120, native: false });
    expect(rangeResolution('1w', 10)).toEqual({ tier: '15m', seconds: 900, native: true });
  });

  it('CIRRUS_SAMPLE_SECONDS is a whole number of seconds from 1 to 300, default 10', () => {
    expect(sampleSeconds(undefined)).toBe(10);
    expect(sampleSeconds('')).toBe(10);
    expect(sampleSeconds('1')).toBe(1);
    expect(sampleSeconds('300')).toBe(300);
    for (const bad of ['0', '301', '2.5', 'ten', '-3']) expect(() => sampleSeconds(bad)).toThrow(/CIRRUS_SAMPLE_SECONDS must be a whole number/);
  });
});

describe('the sampler', () => {
  it('writes one raw sample per running instance from the second reading on, stamped by the database clock', async () => {
    const { id } = await runningInstance({ vcpus: 2, memoryMiB: 256 });
    const { sampler, clock } = steppedSampler();
    driver.setStats(id, { cpuTimeMs: 2_000, residentMiB: 90 });
    expect((await sampler.sampleOnce()).written).not.toContain(id); // the baseline
    expect(await rawRows(id)).toEqual([]);

    clock.ms += 10_000;
    driver.setStats(id, {
      cpuTimeMs: 12_000,
      residentMiB: 100,
      disks: [{ device: 'vda', readBytes: 50_000, writeBytes: 10_000, readOps: 1, writeOps: 1 }],
      nics: [{ mac: 'x', rxBytes: 30_000, txBytes: 0 }],
    });
    const before = await dbNow();
    expect((await sampler.sampleOnce()).written).toContain(id);
    const after = await dbNow();
    const [row] = await rawRows(id);
    expect(row).toMatchObject({ cpuPct: 50, cpuPctMax: 50, samples: 1, memoryTotalBytes: 256 * MiB, memoryResidentBytes: 100 * MiB, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0 });
    expect(row!.at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1);
    expect(row!.at.getTime()).toBeLessThanOrEqual(after.getTime() + 1);

    clock.ms += 5_000;
    driver.setStats(id, {
      cpuTimeMs: 22_000,
      disks: [{ device: 'vda', readBytes: 100_000, writeBytes: 20_000, readOps: 2, writeOps: 2 }],
      nics: [{ mac: 'x', rxBytes: 35_000, txBytes: 500 }],
    });
    await sampler.sampleOnce();
    expect((await rawRows(id))[1]).toMatchObject({ cpuPct: 100, diskReadBps: 10_000, diskWriteBps: 2_000, netRxBps: 1_000, netTxBps: 100 });
  });

  it('a restart (a state change, its counters from zero) starts a new baseline; counters that go back do too', async () => {
    const { tenant, api, id } = await runningInstance();
    const { sampler, clock } = steppedSampler();
    driver.setStats(id, { cpuTimeMs: 50_000 });
    await sampler.sampleOnce();
    clock.ms += 10_000;
    driver.setStats(id, { cpuTimeMs: 55_000 });
    await sampler.sampleOnce();
    expect((await rawRows(id)).map((r) => r.cpuPct)).toEqual([50]);

    await api.instances.stop({ tenantId: tenant.id, instanceId: id });
    await drain();
    clock.ms += 10_000;
    expect((await sampler.sampleOnce()).written).not.toContain(id); // not running: nothing read
    await api.instances.start({ tenantId: tenant.id, instanceId: id });
    await drain();
    clock.ms += 10_000;
    driver.setStats(id, { cpuTimeMs: 1_000 });
    expect((await sampler.sampleOnce()).written).not.toContain(id); // a new process: the baseline again
    clock.ms += 10_000;
    driver.setStats(id, { cpuTimeMs: 3_000 });
    await sampler.sampleOnce();
    clock.ms += 10_000;
    driver.setStats(id, { cpuTimeMs: 500 }); // went back without a state change the database saw
    await sampler.sampleOnce();
    clock.ms += 10_000;
    driver.setStats(id, { cpuTimeMs: 1_500 });
    await sampler.sampleOnce();
    const cpu = (await rawRows(id)).map((r) => r.cpuPct);
    expect(cpu).toEqual([50, 20, 10]);
    expect(cpu.every((c) => c >= 0)).toBe(true);
  });

  it('a guest that cannot be read is skipped, the others sampled; another host’s guests are not its sampler’s', async () => {
    const a = await runningInstance();
    const b = await runningInstance();
    const { sampler, clock } = steppedSampler();
    await sampler.sampleOnce();
    driver.crash(a.id); // its process is gone; the database has not heard yet
    clock.ms += 10_000;
    const round = await sampler.sampleOnce();
    expect(round.failed).toContain(a.id);
    expect(round.written).toContain(b.id);
    expect(round.written).not.toContain(a.id);

    const elsewhere = steppedSampler('00000000-0000-4000-8000-000000000001').sampler;
    await elsewhere.sampleOnce();
    expect(await elsewhere.sampleOnce()).toEqual({ written: [], failed: [] });
  });

  it('runs as a loop (first round at once) and stops cleanly', async () => {
    const { id } = await runningInstance();
    const sampler = new Sampler({ db: t.db, driver, hostId, everySeconds: 1, log: () => undefined });
    sampler.start();
    const until = Date.now() + 20_000;
    while ((await rawRows(id)).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await sampler.stop();
    const n = (await rawRows(id)).length;
    expect(n).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await rawRows(id)).length).toBe(n);
  });
});

// ---------------------------------------------------------------- rollups and retention

type Raw = { at: Date; cpuPct: number; resident: number; total: number; read: number; write: number; rx: number | null; tx: number | null };

/** Raw rows for `instanceId` every ~7 s (jittered) from `fromS` to `toS` seconds before `now`, with values all over. */
async function insertRaw(instanceId: string, tenantId: string, now: Date, fromS: number, toS: number, withNet: boolean): Promise<Raw[]> {
  const rows: Raw[] = [];
  let seed = instanceId.charCodeAt(5) * 7919;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  for (let s = fromS; s > toS; s -= 5 + rnd() * 4) {
    rows.push({
      at: new Date(now.getTime() - Math.round(s * 1000)),
      cpuPct: rnd() * 100,
      resident: Math.round(rnd() * 512) * MiB,
      total: (rnd() < 0.9 ? 256 : 512) * MiB,
      read: rnd() * 1e6,
      write: rnd() * 1e5,
      rx: withNet ? rnd() * 1e4 : null,
      tx: withNet ? rnd() * 1e3 : null,
    });
  }
  await t.db.insert(instanceSamples).values(
    rows.map((r) => ({
      instanceId, tenantId, tier: 'raw' as const, at: r.at, samples: 1, cpuPct: r.cpuPct, cpuPctMax: r.cpuPct,
      memoryTotalBytes: r.total, memoryResidentBytes: r.resident, diskReadBps: r.read, diskWriteBps: r.write, netRxBps: r.rx, netTxBps: r.tx,
    })),
  );
  return rows;
}

/** What a bucket of raw rows must say, computed the slow way. */
function bruteForce(rows: Raw[]) {
  const mean = (f: (r: Raw) => number) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  const net = rows.filter((r) => r.rx !== null);
  return {
    samples: rows.length,
    cpuPct: mean((r) => r.cpuPct),
    cpuPctMax: Math.max(...rows.map((r) => r.cpuPct)),
    memoryTotalBytes: Math.max(...rows.map((r) => r.total)),
    memoryResidentBytes: mean((r) => r.resident),
    diskReadBps: mean((r) => r.read),
    diskWriteBps: mean((r) => r.write),
    netRxBps: net.length ? net.reduce((s, r) => s + r.rx!, 0) / net.length : null,
    netTxBps: net.length ? net.reduce((s, r) => s + r.tx!, 0) / net.length : null,
  };
}

function bucketsOf(rows: Raw[], widthS: number): Map<number, Raw[]> {
  const out = new Map<number, Raw[]>();
  for (const r of rows) {
    const b = Math.floor(r.at.getTime() / 1000 / widthS) * widthS * 1000;
    out.set(b, [...(out.get(b) ?? []), r]);
  }
  return out;
}

const tierRows = (instanceId: string, tier: '1m' | '15m') =>
  t.db.select().from(instanceSamples).where(and(eq(instanceSamples.instanceId, instanceId), eq(instanceSamples.tier, tier))).orderBy(asc(instanceSamples.at));

function expectBucket(row: typeof instanceSamples.$inferSelect, want: ReturnType<typeof bruteForce>) {
  expect(row.samples).toBe(want.samples);
  for (const k of ['cpuPct', 'cpuPctMax', 'memoryTotalBytes', 'memoryResidentBytes', 'diskReadBps', 'diskWriteBps'] as const) {
    expect(row[k], k).toBeCloseTo(want[k], 6);
  }
  for (const k of ['netRxBps', 'netTxBps'] as const) {
    if (want[k] === null) expect(row[k], k).toBeNull();
    else expect(row[k], k).toBeCloseTo(want[k], 6);
  }
}

describe('downsampling and retention', () => {
  it('1-minute and 15-minute rows are exactly the raw rows’ means and maxima; unfinished buckets wait', async () => {
    const withNet = await runningInstance();
    const without = await runningInstance();
    const now = await dbNow();
    const raws = {
      [withNet.id]: await insertRaw(withNet.id, withNet.tenant.id, now, 100 * 60, 3 * 60, true),
      [without.id]: await insertRaw(without.id, without.tenant.id, now, 50 * 60, 0, false),
    };
    const t0 = await dbNow();
    await maintainSamples(t.db);
    const t1 = await dbNow();
    const cutoff = (at: Date) => at.getTime() - 30_000;

    for (const [id, raw] of Object.entries(raws)) {
      for (const [width, tier] of [[60, '1m'], [900, '15m']] as const) {
        const expected = bucketsOf(raw, width);
        const rows = await tierRows(id, tier);
        const rolled = new Set(rows.map((r) => r.at.getTime()));
        // Every bucket that had ended (30 s ago) when the pass began is there, and none that had not when it ended.
        for (const b of expected.keys()) if (b + width * 1000 <= cutoff(t0)) expect(rolled, `${tier} ${new Date(b).toISOString()}`).toContain(b);
        for (const b of rolled) expect(b + width * 1000).toBeLessThanOrEqual(cutoff(t1));
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expectBucket(row, bruteForce(expected.get(row.at.getTime())!));
      }
    }
    // The instance sampled up to now has raw rows in the minute still going: that bucket is not rolled.
    const last1m = (await tierRows(without.id, '1m')).at(-1)!;
    expect(last1m.at.getTime()).toBeLessThan(cutoff(t1) - 59_000);

    // A second pass changes nothing; a sample that came late into the last rolled bucket is taken in.
    const again = await maintainSamples(t.db);
    expect(again).not.toBeNull();
    const lastRolled = (await tierRows(withNet.id, '1m')).at(-1)!;
    const late: Raw = { at: new Date(lastRolled.at.getTime() + 59_000), cpuPct: 100, resident: MiB, total: 256 * MiB, read: 0, write: 0, rx: 0, tx: 0 };
    await t.db.insert(instanceSamples).values({
      instanceId: withNet.id, tenantId: withNet.tenant.id, tier: 'raw', at: late.at, samples: 1, cpuPct: 100, cpuPctMax: 100,
      memoryTotalBytes: late.total, memoryResidentBytes: late.resident, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0,
    });
    await maintainSamples(t.db);
    const healed = (await tierRows(withNet.id, '1m')).find((r) => r.at.getTime() === lastRolled.at.getTime())!;
    expectBucket(healed, bruteForce([...bucketsOf(raws[withNet.id]!, 60).get(lastRolled.at.getTime())!, late]));
  });

  it('each tier keeps its rows as long as it says, then deletes them; terminated instances’ samples stay until then', async () => {
    const { tenant, api, id } = await runningInstance();
    await api.instances.terminate({ tenantId: tenant.id, instanceId: id });
    await drain();
    const now = await dbNow();
    const row = (tier: 'raw' | '1m' | '15m', agoS: number) => ({
      instanceId: id, tenantId: tenant.id, tier, at: new Date(now.getTime() - agoS * 1000), samples: 1, cpuPct: 1, cpuPctMax: 1,
      memoryTotalBytes: 1, memoryResidentBytes: 1, diskReadBps: 0, diskWriteBps: 0, netRxBps: null, netTxBps: null,
    });
    const kept = [row('raw', 100 * 60), row('1m', 47 * 3600), row('15m', 13 * 86_400)];
    const old = [row('raw', 2 * 3600 + 120), row('raw', 5 * 3600), row('1m', 2 * 86_400 + 600), row('15m', 14 * 86_400 + 900)];
    await t.db.insert(instanceSamples).values([...kept, ...old]);
    const result = await maintainSamples(t.db);
    expect(result?.expired).toEqual({ raw: 2, '1m': 1, '15m': 1 });
    const left = await t.db.select().from(instanceSamples).where(eq(instanceSamples.instanceId, id));
    const key = (r: { tier: string; at: Date }) => `${r.tier}@${r.at.getTime()}`;
    const leftKeys = new Set(left.map(key));
    for (const r of kept) expect(leftKeys).toContain(key(r));
    for (const r of old) expect(leftKeys).not.toContain(key(r));
    // The terminated instance's samples are still the tenant's to read.
    const week = await api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1w' });
    expect(week.points.length).toBeGreaterThan(0);
  });

  it('one host at a time: a pass while another holds the lock does nothing', async () => {
    const other = new pg.Pool({ connectionString: t.url, max: 1 });
    const client = await other.connect();
    try {
      await client.query('begin');
      await client.query(`select pg_advisory_xact_lock(hashtextextended('cirrus:instance_samples:maintenance', 0))`);
      expect(await maintainSamples(t.db)).toBeNull();
      await client.query('rollback');
      expect(await maintainSamples(t.db)).not.toBeNull();
    } finally {
      client.release();
      await other.end();
    }
  });
});

// ---------------------------------------------------------------- the tenant's view

describe('instances.metrics', () => {
  it('returns the range’s points, oldest first, with their resolution; other tenants get NOT_FOUND; viewers may read', async () => {
    const { tenant, api, id } = await runningInstance();
    const now = await dbNow();
    await insertRaw(id, tenant.id, now, 90 * 60, 0, true);
    await maintainSamples(t.db);

    const hour = await api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1h' });
    expect(hour).toMatchObject({ range: '1h', resolutionSeconds: 10, sampleSeconds: 10 });
    expect(hour.to.getTime() - hour.from.getTime()).toBe(3600_000);
    expect(hour.points.length).toBeGreaterThan(300);
    expect(Object.keys(hour.points[0]!).sort()).toEqual(
      ['at', 'cpuPct', 'cpuPctMax', 'diskReadBps', 'diskWriteBps', 'memoryResidentBytes', 'memoryTotalBytes', 'netRxBps', 'netTxBps'].sort(),
    );
    expect(hour.points.every((p) => p.at >= hour.from && p.at <= hour.to)).toBe(true);
    const ats = hour.points.map((p) => p.at.getTime());
    expect(ats).toEqual([...ats].sort((a, b) => a - b));

    // A day: 2-minute buckets of the 1-minute rows, each the weighted mean of its two.
    const day = await api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1d' });
    expect(day.resolutionSeconds).toBe(120);
    const minutes = await tierRows(id, '1m');
    for (const p of day.points) {
      const parts = minutes.filter((m) => m.at >= p.at && m.at.getTime() < p.at.getTime() + 120_000);
      const n = parts.reduce((s, m) => s + m.samples, 0);
      expect(p.cpuPct).toBeCloseTo(parts.reduce((s, m) => s + m.cpuPct * m.samples, 0) / n, 6);
      expect(p.cpuPctMax).toBe(Math.max(...parts.map((m) => m.cpuPctMax)));
    }
    expect(day.points.length).toBeGreaterThan(30);
    expect((await api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1w' })).resolutionSeconds).toBe(900);

    const viewer = await makeUser(t.db);
    await addRole(t.db, tenant, viewer, 'viewer');
    expect((await callerAs(t.db, viewer).instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1h' })).points.length).toBe(hour.points.length);

    const stranger = await makeUser(t.db);
    const theirs = await makeTenant(t.db, stranger);
    expect(await refusal(callerAs(t.db, stranger).instances.metrics({ tenantId: theirs.id, instanceId: id, range: '1h' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal(callerAs(t.db, stranger).instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1h' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal(api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '2h' as '1h' }))).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('never more than 1000 points: a fast sample interval is read in wider buckets', async () => {
    process.env.CIRRUS_SAMPLE_SECONDS = '1';
    const { tenant, api, id } = await runningInstance();
    const now = await dbNow();
    const rows = Array.from({ length: 3590 }, (_, i) => ({
      instanceId: id, tenantId: tenant.id, tier: 'raw' as const, at: new Date(now.getTime() - (i + 1) * 1000), samples: 1, cpuPct: i % 100, cpuPctMax: i % 100,
      memoryTotalBytes: 1, memoryResidentBytes: 1, diskReadBps: 0, diskWriteBps: 0, netRxBps: null, netTxBps: null,
    }));
    await t.db.insert(instanceSamples).values(rows);
    const hour = await api.instances.metrics({ tenantId: tenant.id, instanceId: id, range: '1h' });
    expect(hour.resolutionSeconds).toBe(4);
    expect(hour.sampleSeconds).toBe(1);
    expect(hour.points.length).toBeLessThanOrEqual(1000);
    expect(hour.points.length).toBeGreaterThan(890);
    expect(hour.points.every((p) => p.netRxBps === null)).toBe(true);
  });
});
