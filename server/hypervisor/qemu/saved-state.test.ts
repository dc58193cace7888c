// Suspend to disk against real QEMU: a counter running in the guest and its
// uptime go on after a save and a restore, with no boot in between.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import { HypervisorError, type GuestEvent, type GuestSpec, type StateProgress } from '../types';
import { QemuDriver } from './driver';
import { guestLayout } from './layout';
import { isOurProcessAlive, readPidFile } from './process';
import { eventually, SerialSession, testImagesDir } from './test-support';

const BOOT_MS = 90_000;
const spec: GuestSpec = {
  id: 'save-test',
  vcpus: 1,
  memoryMiB: 192,
  diskGiB: 1,
  nics: [{ mac: macAddress('save-test', 0), tap: null }],
  image: 'cirrus-tiny-linux',
};

let guestsDir: string;
let driver: QemuDriver;
const events: GuestEvent[] = [];

const layout = () => guestLayout(guestsDir, spec.id);

/** The counter's last value and the guest's uptime, read from its serial console. */
async function sample(): Promise<{ count: number; uptime: number }> {
  const serial = await SerialSession.open((await driver.console(spec.id)).serialSocket);
  try {
    const tag = `u${Math.random().toString(36).slice(2, 8)}`;
    serial.send('');
    serial.send(`echo "${tag} $(cat /proc/uptime | cut -d' ' -f1) $(cat /tmp/count)"`);
    const m = await serial.waitFor(new RegExp(`${tag} (\\d+\\.\\d+) (\\d+)\\r?\\n`));
    return { uptime: Number(m[1]), count: Number(m[2]) };
  } finally {
    serial.close();
  }
}

beforeAll(async () => {
  guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-save-'));
  driver = await QemuDriver.open({ guestsDir, imagesDir: testImagesDir(), stopTimeoutMs: 20_000 });
  driver.onEvent((e) => events.push(e));
  await driver.create(spec);
  await driver.start(spec.id);
  await eventually(async () => (await driver.serialLog(spec.id)).includes('CIRRUS-READY'), BOOT_MS, 'CIRRUS-READY');
  const serial = await SerialSession.open((await driver.console(spec.id)).serialSocket);
  try {
    // A process that counts, once a second, into a file and onto the console.
    serial.send('');
    serial.send('(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; echo "COUNT $i" > /dev/ttyS0; sleep 1; done) & echo "counter-$((40+2))"');
    await serial.waitFor(/counter-42/);
    await serial.waitFor(/COUNT 3\r?\n/, 20_000);
  } finally {
    serial.close();
  }
}, BOOT_MS + 30_000);

afterAll(async () => {
  await driver.destroy(spec.id).catch(() => undefined);
  await driver.close();
  rmSync(guestsDir, { recursive: true, force: true });
});

describe('QemuDriver: saving a running guest to disk and restoring it', () => {
  let before: { count: number; uptime: number };
  let logBefore = 0;

  it('writes its state to one complete file, with progress, and ends its process', { timeout: 120_000 }, async () => {
    before = await sample();
    const pid = readPidFile(layout().pidFile);
    expect(pid).not.toBeNull();
    logBefore = (await driver.serialLog(spec.id, 1 << 20)).length;
    const progress: StateProgress[] = [];
    const from = events.length;
    const saved = await driver.saveState(spec.id, (p) => progress.push(p));

    expect(saved.bytes).toBeGreaterThan(1024 * 1024);
    expect(progress.at(-1)?.totalBytes).toBeGreaterThanOrEqual(spec.memoryMiB * 1024 * 1024 * 0.9);
    expect(existsSync(layout().stateFile)).toBe(true);
    expect(existsSync(layout().statePartial)).toBe(false);
    expect(isOurProcessAlive(pid!, layout().pidFile)).toBe(false);
    expect(await driver.status(spec.id)).toMatchObject({ state: 'stopped', pid: null });
    expect(await driver.savedState(spec.id)).toMatchObject({ bytes: saved.bytes });
    await eventually(() => events.slice(from).find((e) => e.type === 'stopped'), 5_000, 'stopped event');
    expect(events.slice(from).find((e) => e.type === 'stopped')).toMatchObject({ reason: 'saved' });
    // Asked again (a job retried after a crash): the same state, nothing redone.
    expect(await driver.saveState(spec.id)).toMatchObject({ bytes: saved.bytes });
  });

  it('will not boot the guest from its disk while a state is saved', async () => {
    await expect(driver.start(spec.id)).rejects.toThrow(/has a saved state/);
    await expect(driver.start(spec.id)).rejects.toBeInstanceOf(HypervisorError);
  });

  it('restores it: the counter and the uptime go on from where they were, without a boot', { timeout: 120_000 }, async () => {
    const progress: StateProgress[] = [];
    await driver.restoreState(spec.id, (p) => progress.push(p));
    expect((await driver.status(spec.id)).state).toBe('running');
    expect(progress.at(-1)).toMatchObject({ doneBytes: progress.at(-1)?.totalBytes });
    expect(existsSync(layout().stateFile)).toBe(false);

    const log = await eventually(
      async () => {
        const text = (await driver.serialLog(spec.id, 1 << 20)).slice(logBefore);
        return /COUNT \d+\r?\n[\s\S]*COUNT \d+\r?\n/.test(text) ? text : null;
      },
      30_000,
      'the counter to go on',
    );
    const after = await sample();
    // It went on from its saved value: not from 1, and not missing the time it was saved.
    expect(after.count).toBeGreaterThan(before.count);
    expect(after.count).toBeLessThan(before.count + 60);
    expect(after.uptime).toBeGreaterThan(before.uptime);
    expect(log).not.toMatch(/Linux version|CIRRUS-READY/);
    // Restoring a guest that runs is a no-op (a retried job).
    await driver.restoreState(spec.id);
    expect((await driver.status(spec.id)).state).toBe('running');
  });

  it('refuses to restore or discard what is not there, and discards a saved state on request', { timeout: 120_000 }, async () => {
    await expect(driver.discardSavedState(spec.id)).rejects.toThrow(/is running/);
    await driver.saveState(spec.id);
    await driver.discardSavedState(spec.id);
    expect(await driver.savedState(spec.id)).toBeNull();
    await expect(driver.restoreState(spec.id)).rejects.toThrow(/no saved state/);
    await driver.start(spec.id); // from its disk now
    await eventually(async () => (await driver.serialLog(spec.id)).includes('CIRRUS-READY'), BOOT_MS, 'a fresh boot');
  });

  it('leaves no partial file when QEMU dies in the middle of a save', { timeout: 60_000 }, async () => {
    const pid = readPidFile(layout().pidFile)!;
    const saving = driver.saveState(spec.id);
    // Kill it as soon as the stream has begun.
    await eventually(() => existsSync(layout().statePartial) || existsSync(layout().stateFile), 10_000, 'the save to begin');
    process.kill(pid, 'SIGKILL');
    await saving.catch(() => undefined);
    // Asked again: either the stream had finished (a complete file) or there is nothing, never a partial.
    const retry = await driver.saveState(spec.id).then(
      () => 'saved',
      (e: Error) => e.message,
    );
    expect(existsSync(layout().statePartial)).toBe(false);
    if (retry === 'saved') expect(existsSync(layout().stateFile)).toBe(true);
    else expect(retry).toMatch(/is not running/);
  });
});
