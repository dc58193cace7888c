// The process's Prometheus registry and the metrics the code updates as it
// runs (request latency, reconciler repairs, console sessions). What is read
// from the database at scrape time is in collect.ts; who may read it all, and
// the /metrics response, in handler.ts.
//
// 1. The shared registry · 2. Metrics updated in process
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the reconciler repairs, one label value each (zero from the start, so rate() works before the first). */
export const repairKinds = [
  /** A driver event said a running instance's guest stopped (shut down, crashed, killed). */
  'guest-stopped',
  /** A sweep found a running instance's guest gone. */
  'guest-vanished',
  /** A sweep found a stopped instance's guest running, and adopted it. */
  'found-running',
  /** An instance stuck in a transitional state with no job was given its job again. */
  'job-requeued',
  /** An instance stuck far too long was put in error. */
  'stuck-error',
  /** A guest with no live instance was destroyed after its grace period. */
  'orphan-destroyed',
  /** A volume stuck in a transitional state with no job was given its job again. */
  'volume-job-requeued',
  /** A guest held a volume the database gives to no instance there; it was unplugged. */
  'volume-unplugged',
  /** A volume in use lacked from its guest; it was plugged in again. */
  'volume-replugged',
] as const;
export type RepairKind = (typeof repairKinds)[number];

export const consoleKinds = ['vnc', 'serial'] as const;

// Request latency: from a few milliseconds (reads) to tens of seconds (a launch waiting on locks).
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

// ---------------------------------------------------------------- 1. the shared registry
// The custom server (tsx) and Next's bundled route handlers load separate
// copies of this module in one process: the job worker and reconciler count in
// one, tRPC and /metrics run in the other. The registry and its metrics live on
// globalThis under a well-known symbol, made once per process, so both copies
// count into the one registry /metrics serves.
function createMetrics() {
  const registry = new Registry();
  // Process metrics under their usual names (process_*, nodejs_*), as dashboards expect them.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const reconcilerRepairs = new Counter({
    name: 'cirrus_reconciler_repairs_total',
    help: 'Repairs the reconciler made where the database and the hypervisor disagreed, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const kind of repairKinds) reconcilerRepairs.inc({ kind }, 0);
  const consoleSessions = new Gauge({
    name: 'cirrus_console_sessions',
    help: 'Console WebSocket sessions open on this server, by kind (vnc, serial).',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const kind of consoleKinds) consoleSessions.set({ kind }, 0);
  return {
    registry,
    trpcRequestDuration: new Histogram({
      name: 'cirrus_trpc_request_duration_seconds',
      help: 'tRPC procedure calls by procedure path and outcome (ok, or the tRPC error code).',
      labelNames: ['procedure', 'outcome'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    ec2RequestDuration: new Histogram({
      name: 'cirrus_ec2_request_duration_seconds',
      help: 'EC2 Query API requests by action (other when it is not one Cirrus knows) and HTTP status code.',
      labelNames: ['action', 'code'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    reconcilerRepairs,
    consoleSessions,
    collectorErrors: new Counter({
      name: 'cirrus_metrics_collector_errors_total',
      help: 'Scrape-time collectors that failed (their metrics were left out of that scrape), by collector.',
      labelNames: ['collector'] as const,
      registers,
    }),
  };
}

type Metrics = ReturnType<typeof createMetrics>;
const KEY = Symbol.for('cirrus.metrics');
const g = globalThis as unknown as Record<symbol, Metrics | undefined>;

/** The process-wide metrics (made on first use). */
export function processMetrics(): Metrics {
  return (g[KEY] ??= createMetrics());
}

// ---------------------------------------------------------------- 2. metrics updated in process
/** Count one reconciler repair. */
export function countRepair(kind: RepairKind): void {
  processMetrics().reconcilerRepairs.inc({ kind });
}

/** A console session opened (+1) or closed (-1). */
export function countConsoleSession(kind: (typeof consoleKinds)[number], delta: 1 | -1): void {
  processMetrics().consoleSessions.inc({ kind }, delta);
}
