// /metrics read as Prometheus reads it (the text format, through a parser):
// who may read it, which families it has, and that they move with the platform.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db/client';
import { handleEc2 } from '../ec2/handler';
import type { FakeHypervisor } from '../hypervisor';
import { instanceStates } from '../instances/can';
import { Reconciler } from '../reconciler';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createToken } from '../tokens';
import { handleMetrics, scrapeToken } from './handler';
import { repairKinds } from './registry';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
let hostName: string;
let dataDir: string;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-metrics-'));
  process.env.CIRRUS_DATA_DIR = dataDir;
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
  hostName = `test-${hostId.slice(0, 8)}`;
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const drain = () => drainJobs(t.db, t.url, hostId, driver);

const get = (authorization?: string, db: Db = t.db) =>
  handleMetrics(new Request('http://localhost/metrics', { headers: authorization ? { authorization } : {} }), db);

type Scrape = { families: MetricFamily[]; text: string };

async function scrape(db: Db = t.db): Promise<Scrape> {
  const res = await get(`Bearer ${scrapeToken()}`, db);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { families: parsePrometheusTextFormat(text), text };
}

const family = (s: Scrape, name: string) => s.families.find((f) => f.name === name);
const having = (labels: Record<string, string>) => (m: { labels?: Record<string, string> }) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);

/** The value of the gauge or counter sample of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = family(s, name)?.metrics.find(having(labels));
  return sample && 'value' in sample ? Number(sample.value) : undefined;
}

/**
 * A labelled histogram's `<name>_<series>` samples (count, bucket). The parser
 * folds a histogram's label sets into one (it knows unlabelled ones only), so
 * its TYPE line is dropped and the series are read as the plain samples they are.
 */
function histogramSeries(s: Scrape, name: string, series: 'count' | 'bucket', labels: Record<string, string>): number {
  const untyped = parsePrometheusTextFormat(s.text.replace(`# TYPE ${name} histogram\n`, ''));
  const sample = untyped.filter((f) => f.name === `${name}_${series}`).flatMap((f) => f.metrics).find(having(labels));
  return sample && 'value' in sample ? Number(sample.value) : 0;
}

async function tenantWithOwner() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  return { owner, tenant, api: callerAs(t.db, owner) };
}

describe('/metrics', () => {
  it('is refused without a token (401), to a non-admin (403), and served to an admin’s token and to the scrape token', async () => {
    const file = path.join(dataDir, 'secrets', 'metrics-token');
    expect(fs.existsSync(file)).toBe(false);
    const none = await get();
    expect(none.status).toBe(401);
    // The scrape token is made by the first request, readable by its owner only: there for Prometheus to read.
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(scrapeToken());
    expect(fs.statSync(file).mode & 0o077).toBe(0);
    expect(none.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).toMatch(/Bearer/);
    expect((await get('Basic dXNlcjpwYXNz')).status).toBe(401);
    expect((await get('Bearer cirrus_metrics_not-the-token')).status).toBe(401);

    const user = await makeUser(t.db);
    const admin = await makeUser(t.db, { isAdmin: true });
    const userToken = await createToken(t.db, { kind: 'user', userId: user.id, email: user.email, isAdmin: false, requestId: 'test' }, { name: 'scraper' });
    const adminToken = await createToken(t.db, { kind: 'user', userId: admin.id, email: admin.email, isAdmin: true, requestId: 'test' }, { name: 'scraper' });
    const refused = await get(`Bearer ${userToken.secret}`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/administrators/);

    const byAdmin = await get(`Bearer ${adminToken.secret}`);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parsePrometheusTextFormat(await byAdmin.text()).map((f) => f.name)).toContain('cirrus_instances');

    expect((await get(`Bearer ${scrapeToken()}`)).status).toBe(200);
  });

  it('has every family, of the right type', async () => {
    const { api } = await tenantWithOwner();
    await api.me.get(); // so the tRPC histogram has a series
    const now = await scrape();
    const types = Object.fromEntries(now.families.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      cirrus_trpc_request_duration_seconds: 'HISTOGRAM',
      cirrus_ec2_request_duration_seconds: 'HISTOGRAM',
      cirrus_reconciler_repairs_total: 'COUNTER',
      cirrus_console_sessions: 'GAUGE',
      cirrus_instances: 'GAUGE',
      cirrus_jobs: 'GAUGE',
      cirrus_jobs_oldest_runnable_age_seconds: 'GAUGE',
      cirrus_host_vcpus: 'GAUGE',
      cirrus_host_memory_bytes: 'GAUGE',
      cirrus_host_disk_bytes: 'GAUGE',
      cirrus_host_vcpus_allocated: 'GAUGE',
      cirrus_host_memory_allocated_bytes: 'GAUGE',
      cirrus_host_disk_allocated_bytes: 'GAUGE',
      cirrus_storage_pool_capacity_bytes: 'GAUGE',
      cirrus_storage_pool_allocated_bytes: 'GAUGE',
      cirrus_storage_pool_used_bytes: 'GAUGE',
      cirrus_metrics_collector_errors_total: 'COUNTER',
      process_cpu_seconds_total: 'COUNTER',
      nodejs_eventloop_lag_seconds: 'GAUGE',
    });
    // Every state, zeros included; every repair kind and console kind from the start.
    expect(family(now, 'cirrus_instances')!.metrics.map((m) => m.labels?.state).sort()).toEqual([...instanceStates].sort());
    expect(family(now, 'cirrus_reconciler_repairs_total')!.metrics.map((m) => m.labels?.kind).sort()).toEqual([...repairKinds].sort());
    expect(family(now, 'cirrus_console_sessions')!.metrics.map((m) => m.labels?.kind).sort()).toEqual(['serial', 'vnc']);
    // No tenant is named in the instance figures.
    expect(family(now, 'cirrus_instances')!.metrics.every((m) => Object.keys(m.labels ?? {}).join() === 'state')).toBe(true);
    // The host as placement sees it: 64 cores × 4.0, 1,000,000 MiB less the 512 MiB reserve, 100,000 GiB.
    expect(valueOf(now, 'cirrus_host_vcpus', { host: hostName })).toBe(256);
    expect(valueOf(now, 'cirrus_host_memory_bytes', { host: hostName })).toBe((1_000_000 - 512) * 1024 ** 2);
    expect(valueOf(now, 'cirrus_host_disk_bytes', { host: hostName })).toBe(100_000 * 1024 ** 3);
    expect(valueOf(now, 'cirrus_storage_pool_capacity_bytes', { host: hostName })).toBe(100_000 * 1024 ** 3);
  });

  it('moves when instances change state: running N → N+1 on a launch, back to N on a stop; the job queue and the host’s allocation with it', async () => {
    const { tenant, api } = await tenantWithOwner();
    const before = await scrape();
    const running = valueOf(before, 'cirrus_instances', { state: 'running' })!;
    const vcpus = valueOf(before, 'cirrus_host_vcpus_allocated', { host: hostName })!;

    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny, vcpus: 2 });
    const queued = await scrape();
    expect(valueOf(queued, 'cirrus_instances', { state: 'pending' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(queued, 'cirrus_jobs', { task: 'instance-op', host: hostName, state: 'waiting' })).toBe(1);
    expect(valueOf(queued, 'cirrus_jobs_oldest_runnable_age_seconds', { task: 'instance-op', host: hostName })).toBeGreaterThanOrEqual(0);
    expect(valueOf(queued, 'cirrus_host_vcpus_allocated', { host: hostName })).toBe(vcpus + 2);

    await drain();
    const launched = await scrape();
    expect(valueOf(launched, 'cirrus_instances', { state: 'running' })).toBe(running + 1);
    // The emptied queue reads 0 rather than vanishing.
    expect(valueOf(launched, 'cirrus_jobs', { task: 'instance-op', host: hostName, state: 'waiting' })).toBe(0);
    expect(valueOf(launched, 'cirrus_jobs_oldest_runnable_age_seconds', { task: 'instance-op', host: hostName })).toBe(0);

    await api.instances.stop({ tenantId: tenant.id, instanceId: inst.id });
    await drain();
    const stopped = await scrape();
    expect(valueOf(stopped, 'cirrus_instances', { state: 'running' })).toBe(running);
    expect(valueOf(stopped, 'cirrus_instances', { state: 'stopped' })).toBe(valueOf(launched, 'cirrus_instances', { state: 'stopped' })! + 1);
  });

  it('counts tRPC calls by procedure and outcome, the refusals too', async () => {
    const { owner } = await tenantWithOwner();
    const count = (s: Scrape, outcome: string) => histogramSeries(s, 'cirrus_trpc_request_duration_seconds', 'count', { procedure: 'me.get', outcome });
    const before = await scrape();
    await callerAs(t.db, owner).me.get();
    await expect(callerAs(t.db, null).me.get()).rejects.toThrow();
    const after = await scrape();
    expect(count(after, 'ok')).toBe(count(before, 'ok') + 1);
    expect(count(after, 'UNAUTHORIZED')).toBe(count(before, 'UNAUTHORIZED') + 1);
    expect(histogramSeries(after, 'cirrus_trpc_request_duration_seconds', 'bucket', { procedure: 'me.get', outcome: 'ok', le: '+Inf' })).toBe(count(after, 'ok'));
  });

  it('counts EC2 requests by action and status, and names an unknown action "other"', async () => {
    const count = (s: Scrape, action: string, code: string) => histogramSeries(s, 'cirrus_ec2_request_duration_seconds', 'count', { action, code });
    const post = (body: string) =>
      handleEc2(new Request('http://localhost/api/ec2', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }), t.db);
    const before = await scrape();
    const unsigned = await post('Action=DescribeRegions&Version=2016-11-15');
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
    expect(await unsigned.text()).toMatch(/<Code>/);
    await post('Action=MineBitcoin&Version=2016-11-15');
    await handleEc2(new Request('http://localhost/api/ec2?Action=DescribeInstances'), t.db);
    const after = await scrape();
    const code = String(unsigned.status);
    expect(count(after, 'DescribeRegions', code)).toBe(count(before, 'DescribeRegions', code) + 1);
    expect(count(after, 'DescribeInstances', code)).toBe(count(before, 'DescribeInstances', code) + 1);
    expect(count(after, 'other', code)).toBe(count(before, 'other', code) + 1);
  });

  it('counts the reconciler’s repairs by kind', async () => {
    const { tenant, api } = await tenantWithOwner();
    const inst = await api.instances.launch({ tenantId: tenant.id, ...tiny });
    await drain();
    const before = await scrape();
    await driver.destroy(inst.id); // behind Cirrus's back
    await new Reconciler({ db: t.db, driver, hostId, log: () => undefined }).sweep();
    const after = await scrape();
    expect(valueOf(after, 'cirrus_reconciler_repairs_total', { kind: 'guest-vanished' })).toBe(valueOf(before, 'cirrus_reconciler_repairs_total', { kind: 'guest-vanished' })! + 1);
    // A sweep with nothing to repair counts nothing.
    await new Reconciler({ db: t.db, driver, hostId, log: () => undefined }).sweep();
    const again = await scrape();
    for (const kind of repairKinds) expect(valueOf(again, 'cirrus_reconciler_repairs_total', { kind })).toBe(valueOf(after, 'cirrus_reconciler_repairs_total', { kind }));
  });

  it('leaves out what a failing collector reads, counts the failure, and serves the rest', async () => {
    const broken = new Proxy({} as Db, {
      get: () => () => {
        throw new Error('the database is down');
      },
    });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const before = await scrape();
      const down = await scrape(broken);
      expect(family(down, 'cirrus_instances')?.metrics ?? []).toEqual([]);
      expect(family(down, 'cirrus_host_vcpus')?.metrics ?? []).toEqual([]);
      expect(valueOf(down, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      const errors = (f: Scrape, collector: string) => valueOf(f, 'cirrus_metrics_collector_errors_total', { collector }) ?? 0;
      // The errors counter is read while the collectors run: the next scrape shows this one's failures.
      const next = await scrape();
      for (const collector of ['instances', 'jobs', 'hosts', 'storage-pools']) expect(errors(next, collector)).toBe(errors(before, collector) + 1);
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/the instances collector failed.*the database is down/));
    } finally {
      log.mockRestore();
    }
  });
});
