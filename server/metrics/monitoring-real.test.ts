// Guest monitoring of a real Tiny Linux guest (QEMU driver, real PostgreSQL):
// a CPU burn started inside the guest shows in the sampled CPU % within a
// minute, and its end shows too.
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, instances } from '../db/schema';
import { registerHost } from '../hosts';
import { QemuDriver } from '../hypervisor/qemu/driver';
import { eventually, guestShell, testImagesDir } from '../hypervisor/qemu/test-support';
import { macAddress } from '../hypervisor/spec';
import { makeTenant, makeUser } from '../test/factories';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { instanceMetrics } from './monitoring';
import { Sampler } from './monitoring-sampler';

const BOOT_MS = 90_000;
const ID = `i-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`;

let t: TestDatabase;
let guestsDir: string;
let driver: QemuDriver;
let sampler: Sampler;
let tenantId: string;

/** The CPU % of the guest's latest sample (through the tenant's own query). */
async function latestCpu(): Promise<number | null> {
  const m = await instanceMetrics(t.db, tenantId, { instanceId: ID, range: '1h' });
  return m.points.at(-1)?.cpuPct ?? null;
}

beforeAll(async () => {
  t = await createTestDatabase();
  guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-monitoring-'));
  driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 20_000 });
  const hostId = crypto.randomUUID();
  await registerHost(t.db, { id: hostId, name: `mon-${hostId.slice(0, 8)}`, driver: driver.name, info: await driver.hostInfo() });
  await t.db.insert(images).values({ id: 'cirrus-tiny-linux', name: 'Cirrus Tiny Linux', minMemoryMiB: 96, minDiskGiB: 1 }).onConflictDoNothing();
  const owner = await makeUser(t.db);
  tenantId = (await makeTenant(t.db, owner)).id;
  await driver.create({ id: ID, vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [{ mac: macAddress(ID, 0), tap: null }], image: 'cirrus-tiny-linux' });
  await driver.start(ID);
  await eventually(async () => (await driver.serialLog(ID, 1 << 20)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
  await t.db.insert(instances).values({ id: ID, tenantId, name: 'burner', imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: 1, hostId, state: 'running' });
  sampler = new Sampler({ db: t.db, driver, hostId, everySeconds: 3, log: () => undefined });
  sampler.start();
}, BOOT_MS + 60_000);

afterAll(async () => {
  await sampler?.stop();
  await driver?.destroy(ID).catch(() => undefined);
  await driver?.close();
  if (guestsDir) rmSync(guestsDir, { recursive: true, force: true });
  await t?.close();
});

describe('monitoring a real guest', () => {
  it('a CPU burn inside the guest shows in the samples within a minute, and its end shows too', { timeout: 180_000 }, async () => {
    // Idle first: the booted guest settles (TCG guests idle well under half a host CPU).
    await eventually(async () => ((await latestCpu()) ?? 100) < 40, 60_000, 'an idle guest');

    const pid = await guestShell(driver, ID, 'while :; do :; done >/dev/null 2>&1 & echo $!');
    expect(pid).toMatch(/^\d+$/);
    const burning = await eventually(async () => {
      const cpu = await latestCpu();
      return cpu !== null && cpu > 50 ? cpu : null;
    }, 60_000, 'CPU above 50 %');
    expect(burning).toBeGreaterThan(50);
    expect(burning).toBeLessThanOrEqual(100);

    await guestShell(driver, ID, `kill ${pid}; echo stopped`);
    const idle = await eventually(async () => {
      const cpu = await latestCpu();
      return cpu !== null && cpu < 40 ? String(cpu) : null;
    }, 60_000, 'CPU back under 40 %');
    expect(Number(idle)).toBeLessThan(40);

    // Memory and disk come from the driver too; user-mode NICs have no counters to read.
    const m = await instanceMetrics(t.db, tenantId, { instanceId: ID, range: '1h' });
    const last = m.points.at(-1)!;
    expect(last.memoryTotalBytes).toBe(128 * 1024 * 1024);
    expect(last.memoryResidentBytes).toBeGreaterThan(0);
    expect(last.diskReadBps).toBeGreaterThanOrEqual(0);
    expect(last.netRxBps).toBeNull();
  });
});
