// The guest sampler of one host: every CIRRUS_SAMPLE_SECONDS it reads the
// driver's stats() of the host's running instances and writes one raw sample
// per instance (rates between this reading and the last), stamped by the
// database clock; about once a minute it also runs the rollups and retention
// (monitoring-rollup.ts). Started and stopped with the host's other loops
// (server/runtime/compute.ts).
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { instances, instanceSamples } from '../db/schema';
import { isHypervisorError, type HypervisorDriver } from '../hypervisor';
import { ratesBetween, type Reading } from './monitoring-rates';
import { maintainSamples, type MaintenanceResult } from './monitoring-rollup';
import { sampleSeconds } from './monitoring-tiers';

export type SamplerOptions = {
  db: Db;
  driver: HypervisorDriver;
  hostId: string;
  /** Default: CIRRUS_SAMPLE_SECONDS (validated), else 10. */
  everySeconds?: number;
  /** How often the rollups and retention run (ms, default a minute). */
  maintainEveryMs?: number;
  /**
   * A monotonic clock (ms) for the time between two readings of a guest's
   * counters: they were read by this process at those instants, so that is
   * the interval they cover (rows are still stamped by the database).
   */
  clock?: () => number;
  log?: (m: string) => void;
};

/** What one round did: the instances it wrote a sample for, and those it could not read. */
export type SampleRound = { written: string[]; failed: string[] };

export class Sampler {
  readonly everySeconds: number;
  /** Each instance's last reading, and the state change it was made after (another: a new baseline). */
  private readonly last = new Map<string, { reading: Reading; stateChangedAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastMaintenance = -Infinity;
  private readonly opts: Required<Omit<SamplerOptions, 'everySeconds'>>;

  constructor(opts: SamplerOptions) {
    this.everySeconds = opts.everySeconds ?? sampleSeconds();
    this.opts = { maintainEveryMs: 60_000, clock: () => performance.now(), log: (m) => console.log(m), ...opts };
  }

  start(): void {
    const tick = () => {
      this.running = this.round()
        .catch((err) => this.opts.log(`[monitoring] sampling failed: ${err instanceof Error ? err.message : err}`))
        .finally(() => {
          this.running = null;
          if (this.timer !== null) this.timer = setTimeout(tick, this.everySeconds * 1000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async round(): Promise<void> {
    await this.sampleOnce();
    const now = this.opts.clock();
    if (now - this.lastMaintenance >= this.opts.maintainEveryMs) {
      this.lastMaintenance = now;
      await this.maintain().catch((err) => this.opts.log(`[monitoring] rollup failed: ${err instanceof Error ? err.message : err}`));
    }
  }

  /**
   * Read every running instance of this host and write a sample for each that
   * has a baseline. One that cannot be read (it just stopped) is skipped; its
   * baseline stays, and the next reading covers the longer interval.
   */
  async sampleOnce(): Promise<SampleRound> {
    const { db, driver, hostId, clock } = this.opts;
    const rows = await db
      .select({ id: instances.id, tenantId: instances.tenantId, vcpus: instances.vcpus, stateChangedAt: instances.stateChangedAt })
      .from(instances)
      .where(and(eq(instances.hostId, hostId), eq(instances.state, 'running')));
    const live = new Set(rows.map((r) => r.id));
    for (const id of this.last.keys()) if (!live.has(id)) this.last.delete(id);

    const readings = await Promise.allSettled(
      rows.map(async (r) => {
        const before = clock();
        const stats = await driver.stats(r.id);
        // The counters were read somewhere in the call; its middle is the best guess of when.
        return { atMs: (before + clock()) / 2, stats } satisfies Reading;
      }),
    );
    const samples: (typeof instanceSamples.$inferInsert)[] = [];
    const failed: string[] = [];
    readings.forEach((result, i) => {
      const row = rows[i]!;
      if (result.status === 'rejected') {
        failed.push(row.id);
        if (!isHypervisorError(result.reason, 'INVALID_STATE') && !isHypervisorError(result.reason, 'NOT_FOUND')) {
          this.opts.log(`[monitoring] stats of ${row.id}: ${result.reason instanceof Error ? result.reason.message : result.reason}`);
        }
        return;
      }
      const changed = row.stateChangedAt.getTime();
      const prev = this.last.get(row.id);
      this.last.set(row.id, { reading: result.value, stateChangedAt: changed });
      // A state change since (a restart, a resume: a new process) or counters that went back start a new baseline.
      const values = prev && prev.stateChangedAt === changed ? ratesBetween(prev.reading, result.value, row.vcpus) : null;
      if (values) samples.push({ instanceId: row.id, tenantId: row.tenantId, tier: 'raw', samples: 1, cpuPctMax: values.cpuPct, ...values });
    });
    // `at` is left to the database's now(): one clock for every host's samples.
    if (samples.length) await db.insert(instanceSamples).values(samples).onConflictDoNothing();
    return { written: samples.map((s) => s.instanceId), failed };
  }

  maintain(): Promise<MaintenanceResult> {
    return maintainSamples(this.opts.db);
  }
}
