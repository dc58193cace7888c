import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances } from '../db/schema';
import { macAddress, type FakeHypervisor } from '../hypervisor';
import { drainJobs, setUpCompute, tiny } from '../test/compute';
import { callerAs, makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { Reconciler } from '.';

let t: TestDatabase;
let driver: FakeHypervisor;
let hostId: string;
beforeAll(async () => {
  t = await createTestDatabase();
  ({ driver, hostId } = await setUpCompute(t.db));
});
afterAll(() => t.close());

async function runningInstance() {
  const owner = await makeUser(t.db);
  const tenant = await makeTenant(t.db, owner);
  const inst = await callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny });
  await drainJobs(t.db, t.url, hostId, driver);
  return inst.id;
}

const stateOf = async (id: string) => (await t.db.select().from(instances).where(eq(instances.id, id)))[0]!;

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 2000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('reconciler', () => {
  it('marks a crashed guest’s instance stopped, with the reason, from the driver event', async () => {
    const id = await runningInstance();
    const rec = new Reconciler({ db: t.db, driver, hostId, sweepEveryMs: 60_000, log: () => undefined });
    rec.start();
    try {
      await rec.sweep();
      driver.crash(id);
      const row = await eventually(() => stateOf(id), (r) => r.state === 'stopped');
      expect(row.state).toBe('stopped');
      expect(row.stateReason).toBe('The guest crashed.');
    } finally {
      await rec.stop();
    }
  });

  it('on a sweep, marks an instance whose guest vanished stopped, and adopts a guest found running', async () => {
    const vanished = await runningInstance();
    const revived = await runningInstance();
    await driver.destroy(vanished); // behind Cirrus's back
    await t.db.update(instances).set({ state: 'stopped' }).where(eq(instances.id, revived));
    const rec = new Reconciler({ db: t.db, driver, hostId, log: () => undefined });
    await rec.sweep();
    expect(await stateOf(vanished)).toMatchObject({ state: 'stopped', stateReason: 'The guest was no longer running on its host.' });
    expect((await stateOf(revived)).state).toBe('running');
  });

  it('destroys a guest that has no live instance, but only after the grace period', async () => {
    await driver.create({ id: 'i-0000000000000beef', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [{ mac: macAddress('i-0000000000000beef', 0), tap: null }], image: tiny.imageId });
    await driver.start('i-0000000000000beef');
    const patient = new Reconciler({ db: t.db, driver, hostId, orphanGraceMs: 60_000, log: () => undefined });
    await patient.sweep();
    await patient.sweep();
    expect((await driver.status('i-0000000000000beef')).state).toBe('running');
    const prompt = new Reconciler({ db: t.db, driver, hostId, orphanGraceMs: 0, log: () => undefined });
    await prompt.sweep();
    await expect(driver.status('i-0000000000000beef')).rejects.toThrow();
  });

  it('gives an instance stuck in a transitional state its job again, and errors it when stuck far too long', async () => {
    const owner = await makeUser(t.db);
    const tenant = await makeTenant(t.db, owner);
    const inst = await callerAs(t.db, owner).instances.launch({ tenantId: tenant.id, ...tiny });
    // Lose the job (as if the queue had been wiped) and age the state.
    await t.db.execute(`delete from graphile_worker._private_jobs`);
    await t.db.update(instances).set({ stateChangedAt: new Date(Date.now() - 200_000) }).where(eq(instances.id, inst.id));
    const rec = new Reconciler({ db: t.db, driver, hostId, stuckAfterMs: 100_000, log: () => undefined });
    await rec.sweep();
    await drainJobs(t.db, t.url, hostId, driver);
    expect((await stateOf(inst.id)).state).toBe('running');

    await t.db.update(instances).set({ state: 'stopping', stateChangedAt: new Date(Date.now() - 1_000_000) }).where(eq(instances.id, inst.id));
    await rec.sweep();
    expect(await stateOf(inst.id)).toMatchObject({ state: 'error', stateReason: expect.stringMatching(/^Stuck in stopping for \d+ s/) });
  });
});
