// Integration tests against real QEMU (TCG here; KVM where the probe says so).
// One guest is booted and shared by the lifecycle tests, in order, to keep
// the run to a couple of minutes on two cores.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macAddress } from '../spec';
import { HypervisorError, type GuestEvent, type GuestSpec } from '../types';
import { QemuDriver } from './driver';
import { guestLayout } from './layout';
import { isOurProcessAlive } from './process';
import { eventually, inspectPng, parseHardwareReport, SerialSession, testImagesDir, vncGreeting } from './test-support';

const BOOT_MS = 90_000;
const spec: GuestSpec = {
  id: 'hw-test',
  vcpus: 2,
  memoryMiB: 384,
  diskGiB: 2,
  nics: [0, 1].map((i) => ({ mac: macAddress('hw-test', i), tap: null })),
  image: 'cirrus-tiny-linux',
};

let guestsDir: string;
let imagesDir: string;
let driver: QemuDriver;
const events: GuestEvent[] = [];

/** What is in guestsDir besides the (empty) directories of cross-process locks and claimed guest uids. */
function leftovers(): string[] {
  const stale = ['.locks', '.uids'].flatMap((d) => (existsSync(path.join(guestsDir, d)) ? readdirSync(path.join(guestsDir, d)).map((f) => `${d}/${f}`) : []));
  return [...readdirSync(guestsDir).filter((n) => n !== '.locks' && n !== '.uids'), ...stale];
}

function countIn(text: string, word: string): number {
  return text.split(word).length - 1;
}

async function waitForEvent(pred: (e: GuestEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<GuestEvent> {
  return eventually(() => events.slice(from).find(pred), timeoutMs, what);
}

/** Wait until the guest's setup has printed CIRRUS-READY `n` times since QEMU started. */
async function waitReady(d: QemuDriver, n = 1): Promise<string> {
  return eventually(
    async () => {
      const log = await d.serialLog(spec.id, 256 * 1024);
      return countIn(log, 'CIRRUS-READY') >= n ? log : null;
    },
    BOOT_MS,
    `CIRRUS-READY #${n}`,
  );
}

async function openDriver(): Promise<QemuDriver> {
  const d = await QemuDriver.open({ guestsDir, imagesDir, stopTimeoutMs: 20_000 });
  d.onEvent((e) => events.push(e));
  return d;
}

beforeAll(async () => {
  imagesDir = testImagesDir();
  guestsDir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-hv-'));
  driver = await openDriver();
});

afterAll(async () => {
  for (const d of [driver]) {
    await d.destroy(spec.id).catch(() => undefined);
    await d.close();
  }
  rmSync(guestsDir, { recursive: true, force: true });
});

describe('QemuDriver: refusing bad input before anything is spawned', () => {
  it.each([
    ['0 vCPUs', { vcpus: 0 }],
    ['memory below the image minimum', { memoryMiB: 32 }],
    ['an absurd memory size', { memoryMiB: 10 * 1024 * 1024 }],
    ['an absurd disk size', { diskGiB: 1_000_000 }],
    ['an id with ../', { id: '../escape' }],
    ['an id with shell characters', { id: 'x;touch /tmp/pwned' }],
  ])('refuses %s', async (_what, patch) => {
    await expect(driver.create({ ...spec, ...patch } as GuestSpec)).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    expect(leftovers()).toEqual([]);
  });

  it('leaves nothing behind when create fails (an image that does not exist)', async () => {
    await expect(driver.create({ ...spec, image: 'no-such-image' })).rejects.toBeInstanceOf(HypervisorError);
    expect(leftovers()).toEqual([]);
  });

  it('leaves nothing behind when creating the overlay fails half-way', async () => {
    const broken = await QemuDriver.open({ guestsDir, imagesDir, qemuImgBinary: '/bin/false', accel: 'tcg' });
    try {
      await expect(broken.create({ ...spec, id: 'half-made' })).rejects.toMatchObject({ code: 'BACKEND_FAILED' });
      expect(leftovers()).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  it('finishes a create that a killed process left half-made', async () => {
    const layout = guestLayout(guestsDir, 'half-made');
    mkdirSync(layout.dir, { mode: 0o700 });
    writeFileSync(layout.disk, 'partial');
    await expect(driver.status('half-made')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await driver.create({ ...spec, id: 'half-made' });
    expect((await driver.status('half-made')).state).toBe('stopped');
    await expect(driver.create({ ...spec, id: 'half-made' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await driver.destroy('half-made');
    expect(leftovers()).toEqual([]);
  });

  it('leaves no process or socket behind when start fails, and destroy removes the rest', async () => {
    const broken = await QemuDriver.open({ guestsDir, imagesDir, qemuBinary: '/bin/false', accel: 'tcg' });
    try {
      await broken.create({ ...spec, id: 'broken' });
      await expect(broken.start('broken')).rejects.toMatchObject({ code: 'BACKEND_FAILED' });
      const layout = guestLayout(guestsDir, 'broken');
      expect(readdirSync(layout.dir).sort()).toEqual(['disk.qcow2', 'guest.json']);
      expect((await broken.status('broken')).state).toBe('stopped');
      await broken.destroy('broken');
      expect(existsSync(layout.dir)).toBe(false);
    } finally {
      await broken.close();
    }
  });
});

describe('QemuDriver: a real guest', () => {
  it('reports its accelerator and host', async () => {
    const host = await driver.hostInfo();
    expect(['kvm', 'tcg']).toContain(host.acceleration);
    expect(host.cpus).toBeGreaterThan(0);
    expect(host.hypervisor).toMatch(/^qemu \d/);
    console.log(`[hypervisor test] acceleration: ${host.acceleration} (${(await driver.acceleration()).reason})`);
  });

  it('boots 2 vCPUs / 384 MiB / 2 GiB / 2 NICs and prints a matching hardware report', { timeout: BOOT_MS + 10_000 }, async () => {
    await driver.create(spec);
    await driver.start(spec.id);
    expect(events.some((e) => e.type === 'started' && e.id === spec.id)).toBe(true);
    const log = await waitReady(driver);
    const hw = parseHardwareReport(log);
    expect(hw).not.toBeNull();
    expect(hw?.vcpus).toBe(2);
    expect(hw?.diskBytes).toBe(2 * 1024 ** 3);
    expect(hw?.nics).toBe(2);
    expect(hw?.macs).toEqual(driver.macs(spec.id));
    // MemTotal is RAM minus what the kernel keeps for itself (its own image,
    // memmap/page tables, firmware-reserved ranges): 54,084 KiB (~53 MiB) for
    // Debian's 6.1 kernel at 384 MiB. Allow up to 64 MiB.
    const ramKb = 384 * 1024;
    console.log(`[hypervisor test] ${hw?.memKb} KiB of ${ramKb} KiB visible; the kernel reserves ${ramKb - (hw?.memKb ?? 0)} KiB`);
    expect(hw?.memKb).toBeLessThanOrEqual(ramKb);
    expect(hw?.memKb).toBeGreaterThanOrEqual(ramKb - 64 * 1024);
    expect(await driver.status(spec.id)).toMatchObject({ state: 'running' });
  });

  it('serves VNC on a Unix socket and takes a PNG screenshot of the console', async () => {
    const { vncSocket } = await driver.console(spec.id);
    expect(await vncGreeting(vncSocket)).toBe('RFB 003.008\n');
    const png = await driver.screenshot(spec.id);
    const { width, height } = inspectPng(png);
    expect(width).toBeGreaterThanOrEqual(640);
    expect(height).toBeGreaterThanOrEqual(400);
  });

  it('reports stats from QMP and /proc', async () => {
    const stats = await driver.stats(spec.id);
    expect(stats.cpuTimeMs).toBeGreaterThan(0);
    expect(stats.memoryMiB).toBe(384);
    expect(stats.disks[0]?.writeBytes).toBeGreaterThan(0);
  });

  it('keeps what was written to /data across a graceful stop and a start', { timeout: 2 * BOOT_MS }, async () => {
    const token = `persist-${Date.now().toString(36)}`;
    const serial = await SerialSession.open((await driver.console(spec.id)).serialSocket);
    try {
      serial.send('');
      serial.send(`echo ${token} > /data/note; sync; echo "wrote-$((20+22))"`);
      await serial.waitFor(/wrote-42/);
    } finally {
      serial.close();
    }
    const from = events.length;
    await driver.stop(spec.id);
    const stopped = await waitForEvent((e) => e.type === 'stopped', 1_000, 'stopped event', from);
    expect(stopped).toMatchObject({ id: spec.id, reason: 'guest-shutdown' });
    expect(await driver.status(spec.id)).toMatchObject({ state: 'stopped', pid: null });

    await driver.start(spec.id);
    await waitReady(driver);
    const again = await SerialSession.open((await driver.console(spec.id)).serialSocket);
    try {
      again.send('');
      again.send('echo "got:$(cat /data/note)"');
      await again.waitFor(new RegExp(`got:${token}`));
    } finally {
      again.close();
    }
  });

  it('reports a reboot, a pause and a resume through QMP status and events', { timeout: BOOT_MS + 10_000 }, async () => {
    const from = events.length;
    await driver.reboot(spec.id);
    await waitForEvent((e) => e.type === 'reset' && e.id === spec.id, 2_000, 'reset event', from);
    expect((await driver.status(spec.id)).state).toBe('running');
    await waitReady(driver, 2);

    await driver.pause(spec.id);
    await waitForEvent((e) => e.type === 'paused', 2_000, 'paused event', from);
    expect((await driver.status(spec.id)).state).toBe('paused');
    await driver.resume(spec.id);
    await waitForEvent((e) => e.type === 'resumed', 2_000, 'resumed event', from);
    expect((await driver.status(spec.id)).state).toBe('running');
  });

  it('runs QEMU under its seccomp sandbox', async () => {
    const { pid } = await driver.status(spec.id);
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Seccomp:\s+2$/m); // 2: filter mode
  });

  it('is seen running by a concurrent second driver without taking QMP from the first', { timeout: 30_000 }, async () => {
    const { pid } = await driver.status(spec.id);
    const other = await QemuDriver.open({ guestsDir, imagesDir });
    try {
      expect(await other.list()).toEqual([{ id: spec.id, state: 'running', pid }]);
    } finally {
      await other.close();
    }
    expect(await driver.status(spec.id)).toEqual({ id: spec.id, state: 'running', pid });
  });

  it('is re-adopted by a second driver instance, which can stop it', { timeout: 60_000 }, async () => {
    const pid = (await driver.status(spec.id)).pid;
    await driver.close(); // the web server goes away; the guest must not
    expect(pid).not.toBeNull();
    expect(isOurProcessAlive(pid as number, guestLayout(guestsDir, spec.id).pidFile)).toBe(true);

    driver = await openDriver();
    expect(await driver.list()).toEqual([{ id: spec.id, state: 'running', pid }]);
    const from = events.length;
    await driver.stop(spec.id);
    await waitForEvent((e) => e.type === 'stopped', 1_000, 'stopped event after re-adoption', from);
    expect(await driver.list()).toEqual([{ id: spec.id, state: 'stopped', pid: null }]);
  });

  it('stops gracefully even when asked while the guest is still booting', { timeout: 40_000 }, async () => {
    await driver.start(spec.id);
    const from = events.length;
    await driver.stop(spec.id, { timeoutMs: 30_000 });
    const e = await waitForEvent((ev) => ev.type === 'stopped', 1_000, 'stopped event', from);
    expect(e).toMatchObject({ reason: 'guest-shutdown' });
  });

  it('reports kill -9 of QEMU from outside as stopped (crashed) within 2 s', { timeout: 30_000 }, async () => {
    // A driver that was already open when another one started the guest
    // attaches on first use, once, however many callers ask at the same time.
    const late = await openDriver();
    await driver.start(spec.id);
    await driver.close();
    driver = late;
    const seen = await Promise.all([driver.status(spec.id), driver.status(spec.id), driver.list()]);
    const pid = seen[0].pid;
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]).toMatchObject({ state: 'running' });

    const from = events.length;
    const killedAt = Date.now();
    process.kill(pid as number, 'SIGKILL');
    const e = await waitForEvent((ev) => ev.type === 'stopped', 2_000, 'stopped event after kill -9', from);
    expect(e).toMatchObject({ id: spec.id, reason: 'crashed' });
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect((await driver.status(spec.id)).state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.slice(from).filter((ev) => ev.type === 'stopped')).toHaveLength(1);
  });

  it('destroys a running guest: no process, socket, overlay or directory left', { timeout: 30_000 }, async () => {
    // A reconciler asking for status while the guest starts must not steal QMP from start().
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await driver.status(spec.id);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await driver.start(spec.id).finally(() => (polling = false));
    await poller;
    const { pid } = await driver.status(spec.id);
    const layout = guestLayout(guestsDir, spec.id);
    expect(existsSync(layout.qmpSocket)).toBe(true);
    await driver.destroy(spec.id);
    expect(isOurProcessAlive(pid as number, layout.pidFile)).toBe(false);
    expect(existsSync(layout.dir)).toBe(false);
    expect(leftovers()).toEqual([]);
    await expect(driver.status(spec.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
