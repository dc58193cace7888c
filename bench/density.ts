// Density: 20 small Tiny Linux guests launched at once on this host, through
// the Cirrus QEMU driver and then as the very same QEMU argv started by hand.
// For each way: the time until every guest has run its setup to the end
// (CIRRUS-READY on its serial console, the marker the driver tests wait for),
// what each QEMU process holds in memory beyond the guest's own RAM, and, for
// the driver's guests, the host CPU the idle guests burn.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageCatalog, type GuestImage } from '../server/hypervisor/images/catalog';
import { buildQemuArgs } from '../server/hypervisor/qemu/args';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { guestLayout } from '../server/hypervisor/qemu/layout';
import { processUsage, readPidFile } from '../server/hypervisor/qemu/process';
import { parseHardwareReport, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { Acceleration, GuestSpec } from '../server/hypervisor/types';
import { startByHand, stopByHand } from './by-hand';
import { atMost, median, type BenchFigure, type BenchModule } from './types';


// 1. What is launched ------------------------------------------------------------

const GUESTS = Number(process.env.BENCH_DENSITY_GUESTS ?? 20);
const MEMORY_MIB = 128;
const IMAGE_ID = 'cirrus-tiny-linux';
/** After the last guest is ready, before memory and CPU are read: the guests' boot stragglers (DHCP renewals, acpid) finish. */
const SETTLE_MS = 5_000;
/** The window idle CPU is measured over. */
const IDLE_MS = 20_000;
const READY_TIMEOUT_MS = 300_000;
/** Firecracker's anchor: each microVM's VMM costs < 5 MiB beyond guest memory. */
const FIRECRACKER_OVERHEAD_MIB = 5;

/** A small guest: 1 vCPU, 128 MiB, a 1 GiB disk and one user-mode NIC. */
function smallGuest(i: number): GuestSpec {
  const id = `density-${i}`;
  return { id, vcpus: 1, memoryMiB: MEMORY_MIB, diskGiB: 1, nics: [{ mac: macAddress(id, 0), tap: null }], image: IMAGE_ID };
}

// 2. Watching and reading the processes ------------------------------------------------

/** A guest that will never get there: its kernel gave up (seen under TCG on a starved host: "IO-APIC + timer doesn't work"). */
const PANIC = /Kernel panic - not syncing: ([^\r\n\]]*)/;

interface Readiness {
  /** ms from t0 to CIRRUS-READY for each guest, in order; -1 for one that panicked. */
  readyMs: number[];
  panics: string[];
}

/** Poll every guest's serial log until each shows CIRRUS-READY or a kernel panic. */
async function allReady(logs: string[], t0: number, signal: AbortSignal): Promise<Readiness> {
  const at: (number | null)[] = logs.map(() => null);
  const sizes: number[] = logs.map(() => 0);
  const panics: string[] = [];
  while (at.some((ms) => ms === null)) {
    signal.throwIfAborted();
    const now = performance.now();
    if (now - t0 > READY_TIMEOUT_MS) throw new Error(`${at.filter((ms) => ms === null).length} of ${logs.length} guests not ready after ${READY_TIMEOUT_MS / 1000} s`);
    for (const [i, log] of logs.entries()) {
      if (at[i] !== null) continue;
      let size = 0;
      try {
        size = statSync(log).size;
      } catch {
        continue; // not created yet
      }
      // Read a log again only when it grew.
      if (size !== sizes[i]) {
        const text = readFileSync(log, 'latin1');
        const panic = PANIC.exec(text);
        if (text.includes('CIRRUS-READY')) at[i] = now - t0;
        else if (panic) {
          at[i] = -1;
          panics.push(`${path.basename(path.dirname(log))}: ${panic[1]!.trim()}`);
        }
      }
      sizes[i] = size;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { readyMs: at as number[], panics };
}

/** The resources each guest reported (CIRRUS-HW), as one line: they must be what was configured. */
function guestSees(logs: string[]): string {
  const seen = new Set(
    logs.map((log) => {
      if (PANIC.test(readFileSync(log, 'latin1'))) return 'kernel panic';
      const hw = parseHardwareReport(readFileSync(log, 'latin1'));
      return hw ? `${hw.vcpus} vCPU, MemTotal ${Math.round(hw.memKb / 1024)} MiB, ${hw.nics} NIC` : 'no hardware report';
    }),
  );
  return [...seen].join(' | ');
}

interface Memory {
  rssKiB: number;
  pssKiB: number;
  privateKiB: number;
  /** Resident part of the guest's RAM (the anonymous mapping of exactly its size). */
  guestRamKiB: number;
  /** Resident part of TCG's translation-block cache (its one anonymous rwx mapping). */
  tbCacheKiB: number;
}

/** What a QEMU process holds, from /proc/<pid>/smaps (summed per mapping, as smaps_rollup does). */
function memoryOf(pid: number, guestMiB: number): Memory {
  const m: Memory = { rssKiB: 0, pssKiB: 0, privateKiB: 0, guestRamKiB: 0, tbCacheKiB: 0 };
  for (const block of readFileSync(`/proc/${pid}/smaps`, 'latin1').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = block.slice(0, block.indexOf('\n')).trim().split(/\s+/);
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(block)?.[1] ?? 0);
    const anonymous = head.length < 6;
    m.rssKiB += kb('Rss');
    m.pssKiB += kb('Pss');
    m.privateKiB += kb('Private_Clean') + kb('Private_Dirty');
    if (anonymous && head[1] === 'rw-p' && kb('Size') === guestMiB * 1024) m.guestRamKiB += kb('Rss');
    if (anonymous && head[1] === 'rwxp') m.tbCacheKiB += kb('Rss');
  }
  return m;
}

/** Idle CPU of the processes over IDLE_MS: % of one core, all of them together. */
async function idleCpuPercent(pids: number[]): Promise<number> {
  const cpu = () => pids.reduce((sum, pid) => sum + processUsage(pid).cpuTimeMs, 0);
  const c0 = cpu();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  return ((cpu() - c0) / (performance.now() - t0)) * 100;
}

/** QEMU processes on this host that are not this run's (another engineer's guests skew every figure). */
function otherQemus(ours: string): number {
  let n = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1');
      if (cmd.startsWith('qemu-system') || cmd.includes('/qemu-system')) n += cmd.includes(ours) ? 0 : 1;
    } catch {
      // Gone meanwhile.
    }
  }
  return n;
}

// 3. The two ways of launching ------------------------------------------------------

interface Phase extends Readiness {
  /** Driver only: until every driver.start() returned (QEMU up, QMP attached). */
  startedMs?: number;
  memory: Memory[];
  sees: string;
  /** Driver only. */
  idleCpuPercent?: number;
}

async function viaDriver(driver: QemuDriver, specs: GuestSpec[]): Promise<Phase> {
  const logs = specs.map((s) => guestLayout(driver.guestsDir, s.id).serialLog);
  const stopWatching = new AbortController();
  const t0 = performance.now();
  try {
    const started = Promise.all(
      specs.map(async (s) => {
        await driver.create(s);
        await driver.start(s.id);
      }),
    ).then(() => performance.now() - t0);
    const [startedMs, ready] = await Promise.all([started, allReady(logs, t0, stopWatching.signal)]);
    // QMP must agree: every guest that came up is running (not paused, not gone).
    const up = specs.filter((_, i) => ready.readyMs[i]! >= 0);
    const statuses = await Promise.all(up.map((s) => driver.status(s.id)));
    const notRunning = statuses.filter((s) => s.state !== 'running' || s.pid === null);
    if (notRunning.length) throw new Error(`QMP reports ${notRunning.map((s) => `${s.id} ${s.state}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pids = statuses.map((s) => s.pid as number);
    const memory = pids.map((pid) => memoryOf(pid, MEMORY_MIB));
    const cpu = await idleCpuPercent(pids);
    return { ...ready, startedMs, memory, sees: guestSees(logs), idleCpuPercent: cpu };
  } finally {
    stopWatching.abort();
    await Promise.all(specs.map((s) => driver.destroy(s.id).catch(() => undefined)));
  }
}

async function byHand(dir: string, specs: GuestSpec[], image: GuestImage, accel: Acceleration): Promise<Phase> {
  const layouts = specs.map((s) => guestLayout(dir, s.id));
  const stopWatching = new AbortController();
  const t0 = performance.now();
  try {
    const launched = Promise.all(
      specs.map((spec, i) => startByHand(spec, image, layouts[i]!, accel)),
    );
    // A failed launch ends the phase rather than leaving the wait to time out.
    const [, ready] = await Promise.all([launched, allReady(layouts.map((l) => l.serialLog), t0, stopWatching.signal)]);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const memory = layouts.filter((_, i) => ready.readyMs[i]! >= 0).map((l) => memoryOf(readPidFile(l.pidFile) as number, MEMORY_MIB));
    return { ...ready, memory, sees: guestSees(layouts.map((l) => l.serialLog)) };
  } finally {
    stopWatching.abort();
    await stopByHand(layouts);
    rmSync(dir, { recursive: true, force: true });
  }
}

// 4. Figures -------------------------------------------------------------------------

const MiB = (kib: number) => kib / 1024;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The last guest's CIRRUS-READY, of those that got there. */
const lastReady = (p: Phase) => Math.max(...p.readyMs);

function launchFigures(way: string, p: Phase): BenchFigure[] {
  const s = (ms: number) => ms / 1000;
  const up = p.readyMs.filter((ms) => ms >= 0);
  return [
    ...(p.startedMs === undefined ? [] : [{ label: `${way}: all ${GUESTS} driver.start() returned (QEMU up, QMP attached)`, value: s(p.startedMs), unit: 's' }]),
    { label: `${way}: all ${up.length === GUESTS ? GUESTS : `${up.length} that came up`} CIRRUS-READY`, value: s(lastReady(p)), unit: 's' },
    { label: `${way}: first / median guest CIRRUS-READY`, value: `${s(Math.min(...up)).toFixed(1)} / ${s(median(up)).toFixed(1)}`, unit: 's' },
    { label: `${way}: guests whose kernel panicked at boot`, value: p.panics.length ? `${p.panics.length} (${p.panics.join('; ')})` : 0 },
    { label: `${way}: what the guests report`, value: p.sees },
  ];
}

function memoryFigures(way: string, p: Phase): BenchFigure[] {
  const per = (k: keyof Memory) => MiB(mean(p.memory.map((m) => m[k])));
  const rss = per('rssKiB');
  const outside = MiB(mean(p.memory.map((m) => m.rssKiB - m.guestRamKiB)));
  // Guest RAM is private to its process, so its Pss is its Rss.
  const outsidePss = MiB(mean(p.memory.map((m) => m.pssKiB - m.guestRamKiB)));
  return [
    { label: `${way}: RSS per guest (mean)`, value: rss, unit: 'MiB' },
    { label: `${way}: configured guest memory`, value: MEMORY_MIB, unit: 'MiB' },
    atMost(`${way}: VMM overhead, RSS − configured guest memory`, rss - MEMORY_MIB, FIRECRACKER_OVERHEAD_MIB, 'MiB'),
    { label: `${way}: guest RAM resident (its mapping)`, value: per('guestRamKiB'), unit: 'MiB' },
    atMost(`${way}: VMM overhead, RSS outside guest RAM`, outside, FIRECRACKER_OVERHEAD_MIB, 'MiB'),
    { label: `${way}:   of which TCG translation cache`, value: per('tbCacheKiB'), unit: 'MiB' },
    { label: `${way}: the same by Pss (pages shared between the guests split)`, value: outsidePss, unit: 'MiB' },
    { label: `${way}: Pss / Private per guest`, value: `${per('pssKiB').toFixed(1)} / ${per('privateKiB').toFixed(1)}`, unit: 'MiB' },
    { label: `${way}: host memory for all ${p.memory.length} (sum of Pss)`, value: MiB(p.memory.reduce((a, m) => a + m.pssKiB, 0)), unit: 'MiB' },
  ];
}

const density: BenchModule = {
  name: 'density',
  description:
    `${GUESTS} Tiny Linux guests (1 vCPU, ${MEMORY_MIB} MiB) launched at once: time until all print CIRRUS-READY (the end of their setup) ` +
    `through the driver vs the same QEMU argv by hand (a guest whose kernel panics is counted, not waited for); QEMU memory per guest from /proc/<pid>/smaps ${SETTLE_MS / 1000} s after the last is ready ` +
    `(RSS, RSS − configured memory, and RSS outside the guest-RAM mapping, which is how Firecracker counts its < ${FIRECRACKER_OVERHEAD_MIB} MiB); ` +
    `idle host CPU (utime+stime) of the driver's guests over ${IDLE_MS / 1000} s`,
  async run() {
    const imagesDir = testImagesDir();
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-density-'));
    const driver = await QemuDriver.open({ guestsDir: path.join(scratch, 'cirrus'), imagesDir });
    const specs = Array.from({ length: GUESTS }, (_, i) => smallGuest(i));
    try {
      const accel = await driver.acceleration();
      const image = new ImageCatalog(imagesDir).get(IMAGE_ID);
      const others = otherQemus(scratch);
      const cirrus = await viaDriver(driver, specs);
      const hand = await byHand(path.join(scratch, 'hand'), specs, image, accel.accel);
      const othersAfter = otherQemus(scratch);
      const accelArg = buildQemuArgs({ spec: specs[0]!, image, layout: guestLayout(scratch, specs[0]!.id), accel: accel.accel });
      const cpu = cirrus.idleCpuPercent ?? Number.NaN;
      return [
        { label: 'accelerator', value: `${accel.accel} (${accel.reason}): -accel ${accelArg[accelArg.indexOf('-accel') + 1]}` },
        { label: 'host', value: `${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 1024 ** 3)} GiB; other QEMU processes before / after: ${others} / ${othersAfter}` },
        ...launchFigures('Cirrus', cirrus),
        ...launchFigures('by hand', hand),
        { label: 'all CIRRUS-READY, ratio', value: lastReady(cirrus) / lastReady(hand), unit: '× (Cirrus / by hand)' },
        ...memoryFigures('Cirrus', cirrus),
        ...memoryFigures('by hand', hand),
        { label: `idle CPU, the ${cirrus.memory.length} driver guests together`, value: cpu, unit: '% of one core' },
        { label: 'idle CPU per guest', value: cpu / cirrus.memory.length, unit: '% of one core' },
      ];
    } finally {
      await Promise.all(specs.map((s) => driver.destroy(s.id).catch(() => undefined)));
      await driver.close();
      if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
    }
  },
};

export default density;
