// The QEMU backend: one qemu-system-x86_64 per guest, detached from the
// server and running as a user of its own in a cgroup of its own (jail.ts),
// driven over QMP, with everything the guest owns in its run directory. State is asked,
// not remembered: the pid file and QMP say what runs; the only memory here is
// the open monitors and why a guest is being stopped.
import { execFile } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dataPath } from '../../config/paths';
import { writeSeedIso } from '../cloud-init';
import { tapGuestCounters } from '../net/kernel-state';
import { DEFAULT_IMAGE_ID, ImageCatalog, defaultImagesDir, type GuestImage } from '../images/catalog';
import { GUEST_ID_PATTERN, validateGuestId, validateGuestSpec } from '../spec';
import {
  HypervisorError,
  type IncomingGuest,
  type MigrationProgress,
  type MigrationReport,
  type Acceleration,
  type ConsoleEndpoint,
  type GuestEvent,
  type GuestEventListener,
  type GuestInfo,
  type GuestSnapshot,
  type GuestSpec,
  type NicSpec,
  type GuestStats,
  type GuestStatus,
  type HostInfo,
  type HypervisorDriver,
  type ResizeRequest,
  type CaptureOptions,
  type CapturedImage,
  type CloneOptions,
  type SavedState,
  type StateProgress,
  type StopOptions,
  type BlockSource,
  type VolumeAttachment,
  type VolumeLimits,
} from '../types';
import { planAttach, sharesVolume, validateBlockSource, validateVolumeAttachment, validateVolumeId, validateVolumeLimits, volumesWhyNot } from '../volumes';
import { probeAcceleration, type AccelProbeResult } from './accel';
import { buildQemuArgs } from './args';
import * as hot from './hotplug';
import { coldShape, hotAddWhyNot, shapeTotals, validateShape, type MachineShape } from './hotplug';
import { agent, GuestAgentError } from './guest-agent';
import { errorText, guestEventOf, settlesWithin, shutdownOf, stopReasonOf, waitUntil, waitUntilAsync } from './events';
import { withGuestFileLock } from './guest-lock';
import { guestLayout, MAX_SOCKET_PATH, type GuestLayout } from './layout';
import { SharedGuests } from './shared-pool';
import { isOurProcessAlive, processUsage, readPidFile, startQemu, waitForPidFile } from './process';
import { migration, unixUri, waitForMigration } from './migration';
import { completeMirror, dropMirror, incoming as incomingMigration, mirror, relay, rootDisk, waitForMirrorReady, type OpenStream } from './live-migration';
import { listenForState, sendState } from './state-stream';
import { applyFileRules, guestFileRules, GuestJail, releaseKeptDir, type GuestGroup } from './jail';
import { openOwnFile, readRecordFile, writeRecordFile } from './safe-files';
import { cpusOf } from '../isolation/cgroups';
import { isGuestUid, killAllOfUid, removeFilesOfUid, type GuestUser } from '../isolation/users';
import { block, nodeOf, ROOT_DEVICE, waitForJob } from './block-jobs';
import { allocatedBytes, childrenOf, newOverlayPath, pendSwitch, readChain, snapshotStatePath, switchedTo, writeChain, type DiskChain, type SnapshotRecord } from './disk-chain';
import { capturedFootprint, sweepUnfinishedCaptures, validateImageId, writeCapturedImage } from './captured-images';
import { backingChain, closureOf, collectRetainedDir, convertFlat, isRetainedDir, readRetained, retainOnly } from './clones';
import { qmp } from './qmp-commands';
import { restoreDetachedTaps } from './retap';
import { capLog, capSerialLog, QEMU_LOG_CAP, readSerialLog, resetSerialLog } from './serial-log';
import { QmpMonitor } from './qmp-monitor';
import { checkStandaloneQcow2, checkVolumeSource, DEFAULT_QEMU_IMG, writeFlatCopy } from './qemu-img';
import { liveVolumeLimits, plugVolume, setLiveVolumeLimits, unplugVolume } from './volumes';
import type { QmpEventMessage } from './qmp-wire';

const run = promisify(execFile);

// 1. Options and per-guest bookkeeping --------------------------------------

export interface QemuDriverOptions {
  /** Run directories live here; default `<data>/guests`. */
  guestsDir?: string;
  /** The image catalog; default `<data>/images`. */
  imagesDir?: string;
  /** Where images captured from guests go; default `.captured-images` in `guestsDir` (no guest id starts with a dot). */
  capturedImagesDir?: string;
  qemuBinary?: string;
  qemuImgBinary?: string;
  /** Makes cloud-init seeds (ISO 9660). */
  genisoimageBinary?: string;
  /** 'auto' (default) probes KVM; 'tcg' or 'kvm' forces. */
  accel?: Acceleration | 'auto';
  /** Default wait for an ACPI shutdown before forcing. */
  stopTimeoutMs?: number;
  /** The most MiB/s a save writes the state at (default: as fast as the disk takes it). */
  saveMiBps?: number;
  /** The most MiB/s a live migration sends its disk, then its memory, at (default: 1 GiB/s, the link is the limit). */
  migrateMiBps?: number;
  /** The data directory the guests directory is in (default: its parent): guests' users pass through it, and list nothing. */
  dataDir?: string;
  /**
   * 'on' (default): each guest runs as a user of its own in a cgroup of its
   * own, where the host allows (hostInfo().isolation says what it does).
   * 'off': as the server, unconfined — for benchmarks that compare the two.
   */
  isolation?: 'on' | 'off';
  /** Where /proc is (tests give a made-up one to see what a host without cgroups gets). */
  procRoot?: string;
  /** The host CPUs guests run on (a CPU list, e.g. "1-7"); the others stay the host's. Default: all. */
  guestCpus?: string | null;
  /** The guests' parent cgroup (cirrus-guests-<name>): hosts of a cluster sharing one machine keep their guests' groups apart. */
  cgroupParent?: string;
  /** The shared pool this host reaches (shared-pool.ts), and this host's id, which owns the guests it makes or adopts there. */
  sharedPool?: { dir: string; hostId: string };
}

interface GuestRecord {
  spec: GuestSpec;
  createdAt: string;
  /** A linked clone's: the frozen file of its source its disk is an overlay on. */
  linkedTo?: string | null;
  /** The machine its QEMU process (or its saved state) is, with what was hot-added into it (hotplug.ts). */
  machine?: MachineShape | null;
  /** The user its QEMU runs as (claimed in jail.uids), where guests run as users of their own. */
  uid?: number | null;
}

interface Tracked {
  pid: number;
  monitor: QmpMonitor;
  /** Set by a forced stop so the stop is reported as 'killed'. */
  forced: boolean;
  /** Set once its state is saved, so the end of the process is reported as 'saved'. */
  saved: boolean;
  /** The SHUTDOWN event, if QEMU sent one before going away. */
  shutdown: { guest: boolean; reason: string } | null;
  gone: Promise<void>;
  markGone: () => void;
  /** Its cgroup, where the host has them. */
  group: GuestGroup | null;
}

const probes = new Map<string, Promise<AccelProbeResult>>();

/** Where a path really is, links followed (as it is, when it does not exist yet). */
function realIfThere(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

const POWER_BUTTON_REPEAT_MS = 3_000;
/** A guest that ignored the power button this long is asked through its agent too. */
const AGENT_SHUTDOWN_AFTER_MS = 6_000;
const ADOPT_CONNECT_MS = 2_000;
const SAVE_TIMEOUT_MS = 10 * 60_000;
const RESTORE_TIMEOUT_MS = 10 * 60_000;
/** A move between hosts: the disk in step and the running state across, each within this. */
const MIGRATE_TIMEOUT_MS = 15 * 60_000;
/** How long a detach waits for the guest to let go of the device. */
const DETACH_TIMEOUT_MS = 30_000;

function validateSnapshotName(name: string): string {
  if (!GUEST_ID_PATTERN.test(name)) throw new HypervisorError('INVALID_SPEC', `snapshot name must match ${GUEST_ID_PATTERN.source}, got ${JSON.stringify(name)}`);
  return name;
}

function snapshotInfo(name: string, s: SnapshotRecord): GuestSnapshot {
  return { name, memory: s.stateFile !== null, diskBytes: allocatedBytes(s.file), stateBytes: s.stateFile ? allocatedBytes(s.stateFile) : 0, createdAt: new Date(s.createdAt) };
}

/** The file the guest's root disk writes to, as QEMU has it open. */
async function activeFileOf(m: QmpMonitor): Promise<string | null> {
  const devices = await m.execute<{ device: string; inserted?: { file: string } }[]>('query-block');
  return devices.find((d) => d.device === ROOT_DEVICE)?.inserted?.file ?? null;
}

/** The complete saved state in a guest's directory, if any. */
function savedStateIn(layout: GuestLayout): SavedState | null {
  try {
    const st = statSync(layout.stateFile);
    return { bytes: st.size, savedAt: st.mtime };
  } catch {
    return null;
  }
}

// 2. The driver ----------------------------------------------------------------

export class QemuDriver implements HypervisorDriver {
  readonly name = 'qemu';
  readonly guestsDir: string;
  readonly catalog: ImageCatalog;
  private readonly shared: SharedGuests | null;
  private readonly qemu: string;
  private readonly qemuImg: string;
  private readonly genisoimage: string;
  private readonly stopTimeoutMs: number;
  private readonly accelOption: Acceleration | 'auto';
  private readonly saveBytesPerSecond: number;
  private readonly migrateBytesPerSecond: number;
  private readonly jail: GuestJail;
  private readonly tracked = new Map<string, Tracked>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<GuestEventListener>();
  /** Who is listening to a guest's QMP events for a while (a volume's unplug). */
  private readonly qmpListeners = new Map<string, Set<(e: QmpEventMessage) => void>>();
  private closed = false;
  /** Guests this driver is starting right now: their QMP is about to be ours. */
  private readonly starting = new Set<string>();
  private readonly attaching = new Map<string, Promise<void>>();
  /** Guests whose lock (in-process and file) this driver holds now. */
  private readonly holding = new Set<string>();
  /** One collection of kept files at a time. */
  private collecting: Promise<void> = Promise.resolve();
  /** Keeps running guests' serial logs under their cap. */
  private readonly logTimer = setInterval(() => {
    for (const id of this.tracked.keys()) {
      try {
        capSerialLog(this.layout(id));
        capLog(this.layout(id).qemuLog, QEMU_LOG_CAP); // QEMU's own output, which a guest that escaped into it can make endless
      } catch {
        // Next round.
      }
    }
  }, 10_000).unref();

  private constructor(opts: QemuDriverOptions) {
    // Real paths: QEMU runs as the guest's user, who may pass through them where a link's own directory is closed to it.
    this.guestsDir = realIfThere(path.resolve(opts.guestsDir ?? dataPath('guests')));
    this.catalog = new ImageCatalog(realIfThere(path.resolve(opts.imagesDir ?? defaultImagesDir())), realIfThere(path.resolve(opts.capturedImagesDir ?? path.join(this.guestsDir, '.captured-images'))));
    this.qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
    this.qemuImg = opts.qemuImgBinary ?? DEFAULT_QEMU_IMG;
    this.genisoimage = opts.genisoimageBinary ?? 'genisoimage';
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
    this.accelOption = opts.accel ?? 'auto';
    this.saveBytesPerSecond = (opts.saveMiBps ?? 64 * 1024) * 1024 * 1024;
    this.migrateBytesPerSecond = (opts.migrateMiBps ?? 1024) * 1024 * 1024;
    if (opts.guestCpus) cpusOf(opts.guestCpus); // a CPU list, or it throws saying what one is
    mkdirSync(this.guestsDir, { recursive: true, mode: 0o700 });
    this.shared = opts.sharedPool ? new SharedGuests(realIfThere(path.resolve(opts.sharedPool.dir)), opts.sharedPool.hostId) : null;
    const sharedDirs = this.shared ? [this.shared.dir, this.shared.guestsDir] : [];
    this.jail = new GuestJail({
      guestsDir: this.guestsDir,
      ownDirs: [path.resolve(opts.dataDir ?? path.dirname(this.guestsDir)), ...(this.catalog.capturedDir ? [this.catalog.capturedDir] : []), ...sharedDirs],
      reachDirs: [this.catalog.imagesDir, ...(this.catalog.capturedDir ? [this.catalog.capturedDir] : []), ...sharedDirs],
      mode: opts.isolation,
      procRoot: opts.procRoot,
      cpus: opts.guestCpus ?? null,
      cgroupParent: opts.cgroupParent,
    });
  }

  /** Create a driver and re-adopt the guests already running under `guestsDir`. */
  static async open(opts: QemuDriverOptions = {}): Promise<QemuDriver> {
    const driver = new QemuDriver(opts);
    await driver.adoptAll();
    await driver.collect();
    sweepUnfinishedCaptures(driver.catalog.capturedDir!);
    return driver;
  }

  /** Which accelerator guests get (probed once per process and QEMU/kernel pair). */
  async acceleration(): Promise<AccelProbeResult> {
    if (this.accelOption !== 'auto') return { accel: this.accelOption, reason: 'configured', ms: 0 };
    const kernelPath = this.catalog.find(DEFAULT_IMAGE_ID)?.kernelPath ?? this.catalog.list()[0]?.kernelPath ?? null;
    const key = `${this.qemu}\0${kernelPath}`;
    let p = probes.get(key);
    if (!p) {
      p = probeAcceleration({ qemuBinary: this.qemu, kernelPath });
      // Without an image nothing was really probed: ask again once there is one.
      if (kernelPath) probes.set(key, p);
    }
    return p;
  }

  async hostInfo(): Promise<HostInfo> {
    const fs = statfsSync(this.guestsDir);
    const { stdout } = await run(this.qemu, ['--version']);
    const version = /version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
    return {
      cpus: os.cpus().length,
      memoryMiB: Math.floor(os.totalmem() / 1048576),
      freeDiskGiB: Math.floor((fs.bavail * fs.bsize) / 1073741824),
      acceleration: (await this.acceleration()).accel,
      hypervisor: `qemu ${version}`,
      isolation: this.jail.report((await this.acceleration()).accel),
    };
  }

  onEvent(listener: GuestEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // 3. Lifecycle ---------------------------------------------------------------

  async create(raw: GuestSpec, opts: { shared?: boolean } = {}): Promise<void> {
    const { spec, image } = this.checkNewSpec(raw, opts);
    if (opts.shared) {
      if (!this.shared) throw new HypervisorError('INVALID_SPEC', 'this host has no shared pool');
      if (this.shared.holds(spec.id)) throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists on the shared pool`);
      // One standalone qcow2 (no backing file): any host that mounts the pool can open it, whatever its image catalog's path.
      await this.withLock(spec.id, () =>
        this.makeGuest(spec, image, null, (layout) => writeFlatCopy(this.qemuImg, image.diskPath, layout.disk, spec.diskGiB * 1024 ** 3), { shared: true }),
      );
      return;
    }
    await this.withLock(spec.id, () =>
      this.makeGuest(spec, image, null, (layout) => this.overlay(image.diskPath, layout.disk, spec.diskGiB)),
    );
  }

  async clone(sourceId: string, raw: GuestSpec, opts: CloneOptions, onProgress?: (p: StateProgress) => void): Promise<void> {
    const { spec, image } = this.checkNewSpec(raw);
    if (spec.id === sourceId) throw new HypervisorError('INVALID_SPEC', 'a clone needs an id of its own');
    if (this.shared?.owns(sourceId)) throw new HypervisorError('INVALID_STATE', `guest ${sourceId} is on the shared pool: its clones would be built on files another host may take over`);
    const snapshot = opts.snapshot === null ? null : validateSnapshotName(opts.snapshot);
    // The source's lock is held throughout: the point it is cloned from cannot go meanwhile.
    const made = this.withLock(sourceId, async () => {
      const { layout: src, record } = this.load(sourceId);
      if (record.spec.image !== spec.image) throw new HypervisorError('INVALID_SPEC', `a clone of ${sourceId} runs its image ${record.spec.image}, not ${spec.image}`);
      if (spec.diskGiB !== record.spec.diskGiB) throw new HypervisorError('INVALID_SPEC', `a clone of ${sourceId} has its disk size, ${record.spec.diskGiB} GiB`);
      const point = await this.pointOf(sourceId, src, snapshot);
      await this.withLock(spec.id, () =>
        this.makeGuest(spec, image, opts.linked ? point : null, async (layout) => {
          if (opts.linked) await this.overlay(point, layout.disk, spec.diskGiB);
          else {
            await convertFlat(this.qemuImg, point, layout.disk, spec.diskGiB * 1024 ** 3, onProgress);
            // A snapshot taken before its source's disk grew is smaller than the disk the clone has.
            await run(this.qemuImg, ['resize', '-q', '-f', 'qcow2', layout.disk, `${spec.diskGiB}G`]);
          }
        }),
      );
      // A linked clone reads the point as a user of its own: the source's files it builds on become readable to it.
      if (opts.linked) await this.secureFiles(sourceId);
    });
    // A point frozen for a clone that did not come to be is not kept.
    await made.catch(async (e: unknown) => {
      await this.collect().catch(() => undefined);
      throw e;
    });
  }

  async captureImage(sourceId: string, opts: CaptureOptions, onProgress?: (p: StateProgress) => void): Promise<CapturedImage> {
    const imageId = validateImageId(opts.imageId);
    const snapshot = opts.snapshot === null ? null : validateSnapshotName(opts.snapshot);
    const made = this.withLock(sourceId, async () => {
      const existing = this.catalog.find(imageId);
      if (existing?.captured && existing.capturedFrom?.guest === sourceId) return capturedFootprint(existing); // made before a restart
      if (existing) throw new HypervisorError('ALREADY_EXISTS', `image ${imageId} already exists`);
      const { layout: src, record } = this.load(sourceId);
      const base = this.catalog.find(record.spec.image);
      if (!base) throw new HypervisorError('BACKEND_FAILED', `the image ${record.spec.image} guest ${sourceId} was made from is no longer in the catalog`);
      const point = await this.pointOf(sourceId, src, snapshot);
      const diskBytes = record.spec.diskGiB * 1024 ** 3;
      await writeCapturedImage(this.qemuImg, this.catalog.capturedDir!, { id: imageId, name: opts.name, guest: sourceId, snapshot, point, base, diskBytes }, onProgress);
      return capturedFootprint(this.catalog.get(imageId));
    });
    // A point frozen for an image that did not come to be is not kept.
    return made.catch(async (e: unknown) => {
      await this.collect().catch(() => undefined);
      throw e;
    });
  }

  async deleteImage(imageId: string): Promise<void> {
    validateImageId(imageId);
    const image = this.catalog.find(imageId);
    if (!image) return;
    if (!image.captured) throw new HypervisorError('INVALID_STATE', `image ${imageId} was built, not captured: it is not deleted here`);
    // Every guest of an image has its disk at the bottom of its chain (a clone shares its source's image).
    const users = this.guestIds().filter((id) => {
      try {
        return (JSON.parse(readRecordFile(this.layout(id).specFile)) as GuestRecord).spec.image === imageId;
      } catch {
        return false;
      }
    });
    if (users.length) throw new HypervisorError('INVALID_STATE', `image ${imageId} is the disk of guest ${users.join(', ')}`);
    rmSync(image.dir, { recursive: true, force: true });
  }

  async resize(id: string, to: ResizeRequest): Promise<GuestSpec> {
    return this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      const spec = record.spec;
      const want = { vcpus: to.vcpus ?? spec.vcpus, memoryMiB: to.memoryMiB ?? spec.memoryMiB, diskGiB: to.diskGiB ?? spec.diskGiB };
      if (want.diskGiB < spec.diskGiB) throw new HypervisorError('INVALID_SPEC', `a disk only grows: guest ${id} has ${spec.diskGiB} GiB`);
      if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it, or stop it, to resize it`);
      const t = await this.current(id);
      const diskPath = readChain(layout.dir, layout.disk).active;
      if (!t) {
        const next = validateGuestSpec(
          { ...spec, ...want, nics: to.nics ?? spec.nics, maxVcpus: Math.max(want.vcpus, to.maxVcpus ?? spec.maxVcpus ?? want.vcpus), maxMemoryMiB: Math.max(want.memoryMiB, to.maxMemoryMiB ?? spec.maxMemoryMiB ?? want.memoryMiB) },
          this.catalog.find(spec.image) ?? undefined,
        );
        if (want.diskGiB > spec.diskGiB) await run(this.qemuImg, ['resize', '-q', '-f', 'qcow2', diskPath, `${want.diskGiB}G`]);
        this.saveRecord(layout, { ...record, spec: next, machine: null });
        return next;
      }
      // Running: the room it was started with is its room until it stops.
      const shape = this.liveShape(id);
      if ((to.maxVcpus !== undefined && to.maxVcpus !== shape.maxVcpus) || (to.maxMemoryMiB !== undefined && to.maxMemoryMiB !== shape.maxMemoryMiB)) {
        throw new HypervisorError('INVALID_STATE', `guest ${id} is running: the room for hot-adding is set while it is stopped`);
      }
      if (to.nics && JSON.stringify(to.nics) !== JSON.stringify(spec.nics)) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: its NICs change while it is stopped`);
      const why = hotAddWhyNot(shape, want);
      if (why) throw new HypervisorError('INVALID_STATE', `guest ${id}: ${why}`);
      // Its cgroup lets it have what it is getting before it gets it, and ends at what it has.
      const { accel } = await this.acceleration();
      const cg = t.group ? this.jail.cgroups : null;
      cg?.apply(t.group!, this.jail.limitsFor({ vcpus: Math.max(want.vcpus, shapeTotals(shape).vcpus), memoryMiB: Math.max(want.memoryMiB, shapeTotals(shape).memoryMiB) }, accel));
      try {
        await this.hotAdd(t, layout, record, shape, want);
      } finally {
        cg?.apply(t.group!, this.jail.limitsFor(shapeTotals(shape), accel));
      }
      return this.load(id).record.spec;
    });
  }

  /** Plug in what `want` has beyond `shape`, recording each device as soon as it is in. Under the guest's lock. */
  private async hotAdd(t: Tracked, layout: GuestLayout, record: GuestRecord, shape: MachineShape, want: { vcpus: number; memoryMiB: number; diskGiB: number }): Promise<void> {
    const commit = () => {
      const now = shapeTotals(shape);
      record.spec = { ...record.spec, vcpus: now.vcpus, memoryMiB: now.memoryMiB };
      this.saveRecord(layout, { ...record, machine: shape });
    };
    const missing = want.vcpus - shapeTotals(shape).vcpus;
    if (missing > 0) {
      for (const cpu of (await hot.freeCpuSlots(t.monitor, shape.vcpus + shape.cpus.length)).slice(0, missing)) {
        await hot.plugCpu(t.monitor, cpu);
        shape.cpus.push(cpu);
        commit();
      }
    }
    const more = want.memoryMiB - shapeTotals(shape).memoryMiB;
    if (more > 0) {
      shape.dimms.push(await hot.plugMemory(t.monitor, shape, more));
      commit();
    }
    if (want.diskGiB > record.spec.diskGiB) {
      await hot.growRootDisk(t.monitor, want.diskGiB);
      record.spec = { ...record.spec, diskGiB: want.diskGiB };
      this.saveRecord(layout, { ...record, machine: shape });
    }
  }

  /** The frozen file a clone or an image is made from: a snapshot's, or the disk's now (frozen for it). Under the source's lock. */
  private async pointOf(id: string, layout: GuestLayout, snapshot: string | null): Promise<string> {
    const chain = readChain(layout.dir, layout.disk);
    if (snapshot !== null) {
      const snap = chain.snapshots[snapshot];
      if (!snap) throw new HypervisorError('NOT_FOUND', `guest ${id} has no snapshot ${snapshot}`);
      return this.verifiedPoint(id, snap.file);
    }
    // Its disk now belongs with its saved memory: copying it alone would be a disk the state file does not match.
    if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it first, or use one of its snapshots`);
    return this.verifiedPoint(id, await this.freezePoint(id, layout, chain));
  }

  /** A new qcow2 at `file` over `backing` (of the backing's size, or `sizeGiB`). */
  private overlay(backing: string, file: string, sizeGiB?: number): Promise<unknown> {
    return run(this.qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, file, ...(sizeGiB ? [`${sizeGiB}G`] : [])]);
  }

  /**
   * Freeze the running guest's active file and go on writing to a new overlay
   * at `next`; with `freeze`, its filesystems are flushed and frozen through
   * the agent (where it has one) for that instant.
   */
  private async switchActive(id: string, layout: GuestLayout, t: Tracked, next: string, opts: { freeze: boolean }): Promise<void> {
    const frozen = opts.freeze && this.hasAgent(id) && (await agent.fsFreeze(layout.qgaSocket).then(() => true, () => false));
    try {
      await block.snapshotSync(t.monitor, next);
    } finally {
      if (frozen) await agent.fsThaw(layout.qgaSocket).catch(() => undefined);
    }
  }

  /** A spec for a new guest, valid for its image and with sockets that fit. */
  private checkNewSpec(raw: GuestSpec, where: { shared?: boolean } = {}): { spec: GuestSpec; image: GuestImage } {
    const spec = validateGuestSpec(raw);
    delete spec.volumes; // a new guest (a clone too) has none: they are attached to it
    const image = this.catalog.find(spec.image);
    if (!image) throw new HypervisorError('INVALID_SPEC', `image "${spec.image}" is not in the catalog`);
    validateGuestSpec(spec, image);
    const layout = where.shared && this.shared ? guestLayout(this.shared.guestsDir, spec.id) : this.layout(spec.id);
    for (const sock of [layout.qmpSocket, layout.vncSocket, layout.serialSocket, layout.qgaSocket, layout.migrateSocket, layout.incomingSocket]) {
      if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
        throw new HypervisorError('INVALID_SPEC', `guest directory path too long for a Unix socket: ${sock}`);
      }
    }
    return { spec, image };
  }

  /** Make a stopped guest's directory: its disk (by `writeDisk`), its seed, and guest.json last. Under the guest's lock. */
  private async makeGuest(spec: GuestSpec, image: GuestImage, linkedTo: string | null, writeDisk: (layout: GuestLayout) => Promise<unknown>, where: { shared?: boolean } = {}): Promise<void> {
    if (existsSync(this.layout(spec.id).specFile)) throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists`);
    const layout = where.shared ? guestLayout(this.shared!.guestsDir, spec.id) : this.layout(spec.id);
    // A directory without guest.json is a create that died half-way (we
    // hold the guest's lock, so nobody is making it now): start over.
    rmSync(layout.dir, { recursive: true, force: true });
    mkdirSync(layout.dir, { mode: 0o700 });
    // Ours from the start: layout() finds it on the pool from here on.
    if (where.shared) this.shared!.claim(spec.id);
    try {
      await writeDisk(layout);
      // cloud-init images always get a seed: without one it waits for a datasource that never comes.
      if (image.features.cloudInit) {
        await writeSeedIso({ ...spec, cloudInit: spec.cloudInit ?? { hostname: spec.id, sshKeys: [], userData: null, addresses: [] } }, layout.seedIso, this.genisoimage);
      }
      const record: GuestRecord = { spec, createdAt: new Date().toISOString(), linkedTo };
      writeRecordFile(layout.specFile, JSON.stringify(record, null, 2) + '\n');
    } catch (e) {
      rmSync(layout.dir, { recursive: true, force: true });
      if (where.shared) this.shared!.drop(spec.id);
      throw new HypervisorError('BACKEND_FAILED', `creating guest ${spec.id} failed: ${errorText(e)}`);
    }
  }

  /**
   * Freeze the guest's disk as it is now (as a disk-only snapshot would, its
   * filesystems frozen through the agent for the instant) and return that
   * file: kept in its chain, unnamed, for as long as anything builds on it.
   * Under the guest's lock.
   */
  private async freezePoint(id: string, layout: GuestLayout, chain: DiskChain): Promise<string> {
    const t = await this.current(id);
    let next = newOverlayPath(layout.dir);
    if (!t) {
      await this.overlay(chain.active, next);
    } else {
      const inQemu = await activeFileOf(t.monitor);
      if (inQemu && inQemu !== chain.active) {
        next = switchedTo(id, chain, inQemu); // a crash came between QEMU's switch and its record: that switch is the point
      } else {
        pendSwitch(layout.dir, chain, next);
        await this.switchActive(id, layout, t, next, { freeze: true }).catch((e: unknown) => {
          throw new HypervisorError('BACKEND_FAILED', `freezing the disk of guest ${id} failed: ${errorText(e)}`);
        });
      }
    }
    const point = chain.active;
    chain.retained = [...(chain.retained ?? []), point];
    chain.active = next;
    delete chain.pending;
    writeChain(layout.dir, chain);
    await this.secureFiles(id);
    return point;
  }

  /**
   * The files linked clones read, other than `except`'s own: each linked
   * guest's frozen source file and everything under it.
   */
  private async neededByClones(except: string | null): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of this.guestIds()) {
      if (id === except) continue;
      let linkedTo: string | null | undefined;
      try {
        linkedTo = (JSON.parse(readRecordFile(this.layout(id).specFile)) as GuestRecord).linkedTo;
      } catch {
        continue; // gone meanwhile
      }
      if (!linkedTo) continue;
      // Only what its source's records say it may be built on: a header names whatever the guest that wrote it chose.
      const lineage = this.lineageOf(path.dirname(linkedTo));
      for (const f of await closureOf(this.qemuImg, [linkedTo])) if (lineage.has(f)) out.add(f);
    }
    return out;
  }

  /**
   * The files a disk in the guest directory (or kept directory) `dir` may be
   * built on, from the server's own records: its frozen files (snapshots',
   * points), its image's base disk, and those of the guest it was linked from,
   * and so on. Never an active file: nothing builds on one.
   */
  private lineageOf(dir: string, seen = new Set<string>()): Set<string> {
    const out = new Set<string>();
    if (seen.has(dir) || (path.dirname(dir) !== this.guestsDir && path.dirname(dir) !== this.shared?.guestsDir)) return out;
    seen.add(dir);
    let baseDisk: string | null | undefined;
    let linkedTo: string | null | undefined;
    const kept = readRetained(dir);
    if (kept) {
      for (const f of kept.files) out.add(path.join(dir, path.basename(f)));
      ({ baseDisk, linkedTo } = kept);
    } else {
      let record: GuestRecord;
      try {
        record = JSON.parse(readRecordFile(path.join(dir, 'guest.json'))) as GuestRecord;
      } catch {
        return out;
      }
      const chain = readChain(dir, path.join(dir, 'disk.qcow2'));
      for (const f of [...Object.values(chain.snapshots).map((x) => x.file), ...(chain.retained ?? [])]) out.add(f);
      baseDisk = this.catalog.find(record.spec.image)?.diskPath ?? null;
      linkedTo = record.linkedTo;
    }
    if (baseDisk) out.add(baseDisk);
    if (linkedTo) for (const f of this.lineageOf(path.dirname(linkedTo), seen)) out.add(f);
    return out;
  }

  /**
   * A frozen file of the guest, checked before root reads it whole (a clone,
   * an image, an export): every file its header chain names must be one the
   * records say it may be built on. A guest that escaped into its QEMU can
   * write any backing file name into its disk before it is frozen — another
   * guest's disk, a secret — and qemu-img run by root would read it.
   */
  private async verifiedPoint(id: string, point: string): Promise<string> {
    const lineage = this.lineageOf(this.layout(id).dir);
    const stranger = (await backingChain(this.qemuImg, point)).find((f) => !lineage.has(f));
    if (stranger !== undefined) {
      throw new HypervisorError('BACKEND_FAILED', `the disk of guest ${id} is built on a file Cirrus did not give it (${path.basename(stranger)}): refusing to copy it`);
    }
    return point;
  }

  /**
   * Remove the kept files no guest needs any more: those a destroyed guest
   * left for its clones, and the unnamed points in live guests' chains.
   * Idempotent; run after anything that can free a file, and at open.
   */
  private async collect(): Promise<void> {
    const sweep = async () => {
      const needed = await this.neededByClones(null);
      for (const name of readdirSync(this.guestsDir)) {
        const dir = path.join(this.guestsDir, name);
        if (GUEST_ID_PATTERN.test(name) && isRetainedDir(dir)) collectRetainedDir(dir, needed);
      }
      for (const id of this.guestIds()) {
        const layout = this.layout(id);
        if (!readChain(layout.dir, layout.disk).retained?.length) continue;
        await this.withLock(id, async () => {
          const chain = readChain(layout.dir, layout.disk);
          const own = await closureOf(this.qemuImg, [chain.active, ...Object.values(chain.snapshots).map((s) => s.file)]);
          const keep = (chain.retained ?? []).filter((f) => own.has(f) || needed.has(f));
          for (const f of chain.retained ?? []) if (!keep.includes(f)) rmSync(f, { force: true });
          chain.retained = keep;
          writeChain(layout.dir, chain);
        }).catch(() => undefined); // gone meanwhile: nothing of it to keep
      }
    };
    const p = this.collecting.then(sweep, sweep);
    this.collecting = p.catch(() => undefined);
    await p;
  }

  /** Ids of the guests on this host (those with a guest.json): here, and those it owns on the shared pool. */
  private guestIds(): string[] {
    const here = existsSync(this.guestsDir) ? readdirSync(this.guestsDir).filter((n) => GUEST_ID_PATTERN.test(n)) : [];
    return [...new Set([...here, ...(this.shared?.ownedIds() ?? [])])].filter((n) => existsSync(this.layout(n).specFile));
  }

  async start(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const { layout } = this.load(id);
      if (await this.current(id)) throw new HypervisorError('INVALID_STATE', `guest ${id} is already running`);
      // Booting from the disk under a saved state would make that state a lie about the disk.
      if (existsSync(layout.stateFile)) {
        throw new HypervisorError('INVALID_STATE', `guest ${id} has a saved state: restore it, or discard it to boot from its disk`);
      }
      mkdirSync(layout.runDir, { recursive: true, mode: 0o700 });
      resetSerialLog(layout);
      await this.spawnGuest(id, { incoming: false });
      this.emit({ type: 'started', id, at: new Date() });
    });
  }

  async stop(id: string, opts: StopOptions = {}): Promise<void> {
    await this.withLock(id, async () => {
      this.load(id);
      const t = await this.current(id);
      if (!t) return;
      const until = Date.now() + (opts.timeoutMs ?? this.stopTimeoutMs);
      try {
        // A paused guest cannot hear the power button.
        if ((await qmp.status(t.monitor)).status === 'paused') await qmp.cont(t.monitor);
      } catch {
        // Fall through to the timeout and the forced stop.
      }
      // Press the button again every few seconds: a guest still booting may
      // not be listening yet. One that has an agent is also asked through it
      // once the button has gone unheard for a while.
      let agentAt = this.hasAgent(id) ? Date.now() + AGENT_SHUTDOWN_AFTER_MS : Infinity;
      while (Date.now() < until) {
        await qmp.powerdown(t.monitor).catch(() => undefined);
        if (Date.now() >= agentAt) {
          // Until it is taken: an agent that took the request is shutting the guest down; asking again only queues more.
          const taken = await agent.shutdown(this.layout(id).qgaSocket).then(() => true, () => false);
          if (taken) agentAt = Infinity;
        }
        if (await settlesWithin(t.gone, Math.min(POWER_BUTTON_REPEAT_MS, Math.max(0, until - Date.now())))) return this.endGuestProcesses(id);
      }
      await this.forceStopLocked(id, t);
    });
  }

  async forceStop(id: string): Promise<void> {
    await this.withLock(id, async () => {
      this.load(id);
      const t = await this.current(id);
      if (t) await this.forceStopLocked(id, t);
    });
  }

  async reboot(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      // An OS with an agent reboots itself cleanly (its services stop, its
      // disks are flushed); anything else, or an agent that does not answer,
      // gets the reset button.
      if (this.hasAgent(id)) {
        const asked = await agent.reboot(this.layout(id).qgaSocket).then(() => true, () => false);
        if (asked) return;
      }
      await qmp.reset(t.monitor);
    });
  }

  async pause(id: string): Promise<void> {
    await this.withLock(id, async () => {
      await qmp.stop((await this.requireRunning(id)).monitor);
    });
  }

  async resume(id: string): Promise<void> {
    await this.withLock(id, async () => {
      await qmp.cont((await this.requireRunning(id)).monitor);
    });
  }

  // Saved state (suspend to disk) ------------------------------------------------

  async saveState(id: string, onProgress?: (p: StateProgress) => void): Promise<SavedState> {
    return this.withLock(id, async () => {
      const { layout } = this.load(id);
      const t = await this.current(id);
      if (!t) {
        // A save whose QEMU died half-way never completes: only a renamed file counts.
        rmSync(layout.statePartial, { force: true });
        const saved = savedStateIn(layout);
        if (saved) return saved;
        throw new HypervisorError('INVALID_STATE', `guest ${id} is not running`);
      }
      rmSync(layout.stateFile, { force: true });
      try {
        // Paused first: the state is written in one pass and the guest's clock stops where it is saved.
        if ((await qmp.status(t.monitor)).running) await qmp.stop(t.monitor);
        await this.saveTo(id, t, layout.stateFile, onProgress);
      } catch (e) {
        await qmp.cont(t.monitor).catch(() => undefined); // the guest goes on as it was
        throw new HypervisorError('BACKEND_FAILED', `saving the state of guest ${id} failed: ${errorText(e)}`);
      }
      t.saved = true;
      await this.forceStopLocked(id, t);
      return savedStateIn(layout)!;
    });
  }

  async restoreState(id: string, onProgress?: (p: StateProgress) => void): Promise<void> {
    await this.withLock(id, async () => {
      const { layout } = this.load(id);
      const t = await this.current(id);
      if (!t) {
        if (!existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} has no saved state`);
        await this.loadState(id, layout, layout.stateFile, this.liveShape(id), onProgress);
      } else {
        const s = await qmp.status(t.monitor);
        if (s.status === 'inmigrate') throw new HypervisorError('BACKEND_FAILED', `guest ${id} is still loading its state`);
        if (!s.running) await qmp.cont(t.monitor);
      }
      rmSync(layout.stateFile, { force: true });
    });
  }

  async savedState(id: string): Promise<SavedState | null> {
    return savedStateIn(this.load(id).layout);
  }

  async discardSavedState(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const { layout } = this.load(id);
      if (await this.current(id)) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: its state is not saved`);
      rmSync(layout.statePartial, { force: true });
      rmSync(layout.stateFile, { force: true });
    });
  }

  // Snapshots (external qcow2 overlays; see disk-chain.ts) -------------------------

  async createSnapshot(id: string, snap: { name: string; memory: boolean }, onProgress?: (p: StateProgress) => void): Promise<GuestSnapshot> {
    const name = validateSnapshotName(snap.name);
    return this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      const chain = readChain(layout.dir, layout.disk);
      if (chain.snapshots[name]) return snapshotInfo(name, chain.snapshots[name]);
      const withVolumes = snap.memory ? volumesWhyNot(id, record.spec.volumes, 'take a snapshot with memory') : null;
      if (withVolumes) throw withVolumes;
      const t = await this.current(id);
      if (snap.memory && !t) throw new HypervisorError('INVALID_STATE', `guest ${id} is not running: a snapshot with memory needs a running guest`);
      let next = newOverlayPath(layout.dir);
      let stateFile: string | null = null;
      if (!t) {
        await this.overlay(chain.active, next);
      } else {
        const inQemu = await activeFileOf(t.monitor);
        if (inQemu && inQemu !== chain.active) {
          // A crash came between QEMU's switch to the new overlay and its record: the switch stands.
          next = switchedTo(id, chain, inQemu);
          const saved = snapshotStatePath(layout.dir, name);
          if (snap.memory) {
            // Its memory streamed to a server that is gone, so that state was never made final: the snapshot is of its disk.
            await migration.cancel(t.monitor).catch(() => undefined);
            rmSync(`${saved}.partial`, { force: true });
            if (!(await qmp.status(t.monitor)).running) await qmp.cont(t.monitor).catch(() => undefined);
          }
          stateFile = snap.memory && existsSync(saved) ? saved : null;
        } else {
          const wasRunning = (await qmp.status(t.monitor)).running;
          pendSwitch(layout.dir, chain, next);
          // Consistent: with memory the guest is paused throughout; without, its filesystems are flushed and frozen for the instant of the switch.
          if (snap.memory && wasRunning) await qmp.stop(t.monitor);
          try {
            await this.switchActive(id, layout, t, next, { freeze: !snap.memory });
          } catch (e) {
            if (snap.memory && wasRunning) await qmp.cont(t.monitor).catch(() => undefined);
            throw new HypervisorError('BACKEND_FAILED', `snapshotting the disk of guest ${id} failed: ${errorText(e)}`);
          }
          if (snap.memory) {
            const final = snapshotStatePath(layout.dir, name);
            try {
              await this.saveTo(id, t, final, onProgress);
              stateFile = final;
            } catch {
              // The disk part stands; without a complete state it is a disk-only snapshot.
            } finally {
              if (wasRunning) await qmp.cont(t.monitor).catch(() => undefined);
            }
          }
        }
      }
      // A memory snapshot loads into the machine it was taken of (with what was hot-added into it).
      chain.snapshots[name] = { file: chain.active, stateFile, createdAt: new Date().toISOString(), ...(stateFile ? { machine: this.liveShape(id) } : {}) };
      chain.active = next;
      delete chain.pending;
      writeChain(layout.dir, chain);
      await this.secureFiles(id); // the snapshot's file is frozen: read by QEMU, never written
      return snapshotInfo(name, chain.snapshots[name]);
    });
  }

  async restoreSnapshot(id: string, name: string, onProgress?: (p: StateProgress) => void): Promise<'running' | 'stopped'> {
    return this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      const chain = readChain(layout.dir, layout.disk);
      const snap = chain.snapshots[validateSnapshotName(name)];
      if (!snap) throw new HypervisorError('NOT_FOUND', `guest ${id} has no snapshot ${name}`);
      const withVolumes = snap.stateFile ? volumesWhyNot(id, record.spec.volumes, `restore snapshot ${name}, which has memory`) : null;
      if (withVolumes) throw withVolumes;
      if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it or discard its saved state first`);
      const t = await this.current(id);
      if (t && !snap.stateFile) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: a snapshot without memory is restored into a stopped guest`);
      const machine = snap.stateFile ? (snap.machine ? validateShape(snap.machine) : coldShape(record.spec)) : null;
      if (machine) {
        const was = shapeTotals(machine);
        if (was.vcpus !== record.spec.vcpus || was.memoryMiB !== record.spec.memoryMiB) {
          throw new HypervisorError(
            'INVALID_STATE',
            `snapshot ${name} of guest ${id} holds the memory of ${was.vcpus} vCPU and ${was.memoryMiB} MiB; the guest now has ${record.spec.vcpus} vCPU and ${record.spec.memoryMiB} MiB: resize it back first`,
          );
        }
      }
      // The running state is replaced by the snapshot's, so nothing of it is kept.
      if (t) await this.forceStopLocked(id, t);
      const next = newOverlayPath(layout.dir);
      // At the disk's size now: a disk grown since does not shrink back under the guest.
      await this.overlay(snap.file, next, record.spec.diskGiB);
      const old = chain.active;
      chain.active = next;
      writeChain(layout.dir, chain);
      rmSync(old, { force: true }); // the disk as it was since: no snapshot's file (those are frozen), so nothing else needs it
      await this.secureFiles(id);
      if (!snap.stateFile || !machine) return 'stopped';
      await this.loadState(id, layout, snap.stateFile, machine, onProgress);
      return 'running';
    });
  }

  async deleteSnapshot(id: string, name: string, onProgress?: (p: StateProgress) => void): Promise<void> {
    await this.withLock(id, async () => {
      const { layout } = this.load(id);
      const chain = readChain(layout.dir, layout.disk);
      const snap = chain.snapshots[validateSnapshotName(name)];
      if (!snap) return;
      const files = [chain.active, ...Object.values(chain.snapshots).map((s) => s.file), ...(chain.retained ?? [])];
      const backing = new Map(await Promise.all(files.map(async (f) => [f, await this.backingOf(f)] as const)));
      // null: the snapshot's file stands alone (a full clone's first disk), so its children will too.
      const parent = backing.get(snap.file) ?? null;
      const children = childrenOf(snap.file, backing);
      const needed = await this.neededByClones(id);
      if (needed.has(snap.file) || children.some((c) => needed.has(c))) {
        // A linked clone reads this file (or one built on it, which a merge would rewrite): it loses its name, not its data.
        chain.retained = [...(chain.retained ?? []), snap.file];
      } else {
        const t = await this.current(id);
        // Every file built on the snapshot's takes its data in, so it can go.
        for (const child of children) {
          const node = t ? await nodeOf(t.monitor, child) : null;
          try {
            if (t && node) {
              // QEMU writes the merged data into the child: its user's for the while (secureFiles puts it back).
              const user = this.jail.userOf(this.load(id).record.uid, (await this.acceleration()).accel);
              if (user) applyFileRules([{ path: child, uid: user.uid, gid: user.gid, mode: 0o600 }]);
              const base = parent === null ? null : await nodeOf(t.monitor, parent);
              if (parent !== null && !base) throw new Error(`${parent} is not in the guest's chain`);
              const job = `merge-${name}`;
              await block.stream(t.monitor, job, node, base);
              await waitForJob(t.monitor, job, { onProgress, timeoutMs: SAVE_TIMEOUT_MS });
            } else {
              await run(this.qemuImg, ['rebase', '-q', '-U', '-f', 'qcow2', ...(parent === null ? ['-b', ''] : ['-F', 'qcow2', '-b', parent]), child]);
            }
          } catch (e) {
            throw new HypervisorError('BACKEND_FAILED', `merging snapshot ${name} of guest ${id} into ${path.basename(child)} failed: ${errorText(e)}`);
          }
        }
        rmSync(snap.file, { force: true });
      }
      if (snap.stateFile) rmSync(snap.stateFile, { force: true });
      delete chain.snapshots[name];
      writeChain(layout.dir, chain);
      await this.secureFiles(id);
    });
  }

  async listSnapshots(id: string): Promise<GuestSnapshot[]> {
    const { layout } = this.load(id);
    const chain = readChain(layout.dir, layout.disk);
    return Object.entries(chain.snapshots)
      .map(([name, s]) => snapshotInfo(name, s))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  // Volumes (a storage pool's block devices, plugged by volumes.ts) ----------------

  async attachVolume(id: string, raw: VolumeAttachment): Promise<void> {
    const want = validateVolumeAttachment(raw);
    await this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it, or discard its saved state, to attach a volume`);
      const plan = planAttach(id, record.spec.volumes ?? [], want, this.volumeHolder(id, want.id, want.source));
      if (plan.kind === 'new') await checkVolumeSource(this.qemuImg, want);
      const t = await this.current(id);
      if (t) {
        // Its QEMU opens the file as the guest's user.
        this.jail.ownVolume(want.source.path, this.jail.userOf(record.uid, (await this.acceleration()).accel));
        plan.volume.slot = await plugVolume(t.monitor, plan.volume).catch((e: unknown) => {
          throw new HypervisorError('BACKEND_FAILED', `attaching volume ${want.id} to guest ${id} failed: ${errorText(e)}`);
        });
      }
      const volumes = plan.volumes.map((v) => (v.id === want.id ? plan.volume : v));
      this.saveRecord(layout, { ...record, spec: { ...record.spec, volumes } });
    });
  }

  async detachVolume(id: string, volumeId: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    validateVolumeId(volumeId);
    await this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      const volumes = record.spec.volumes ?? [];
      if (!volumes.some((v) => v.id === volumeId)) return;
      // The saved machine has the device: without it in the record, the state would not load.
      if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended with volume ${volumeId} in it: resume it to detach it, or discard its saved state`);
      const t = await this.current(id);
      if (t) {
        if (!(await qmp.status(t.monitor)).running) throw new HypervisorError('INVALID_STATE', `guest ${id} is paused: it lets go of volume ${volumeId} only while it runs`);
        const timeoutMs = opts.timeoutMs ?? DETACH_TIMEOUT_MS;
        const gone = await unplugVolume(t.monitor, volumeId, { timeoutMs, events: (l) => this.tapQmpEvents(id, l) }).catch((e: unknown) => {
          throw new HypervisorError('BACKEND_FAILED', `detaching volume ${volumeId} from guest ${id} failed: ${errorText(e)}`);
        });
        if (!gone) throw new HypervisorError('INVALID_STATE', `guest ${id} did not let go of volume ${volumeId} within ${Math.round(timeoutMs / 1000)} s (its OS must release the disk): it is still attached; detaching again finishes once it has`);
      }
      // Root's again: the guest's user (or the next guest given its uid) can no longer reach it.
      for (const v of volumes) if (v.id === volumeId) this.jail.ownVolume(v.source.path, null);
      this.saveRecord(layout, { ...record, spec: { ...record.spec, volumes: volumes.filter((v) => v.id !== volumeId) } });
    });
  }

  async setVolumeLimits(id: string, volumeId: string, raw: VolumeLimits | null): Promise<void> {
    validateVolumeId(volumeId);
    const limits = validateVolumeLimits(raw);
    await this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      const volumes = record.spec.volumes ?? [];
      if (!volumes.some((v) => v.id === volumeId)) throw new HypervisorError('NOT_FOUND', `guest ${id} has no volume ${volumeId} attached`);
      const t = await this.current(id);
      if (t) await setLiveVolumeLimits(t.monitor, volumeId, limits);
      this.saveRecord(layout, { ...record, spec: { ...record.spec, volumes: volumes.map((v) => (v.id === volumeId ? { ...v, limits } : v)) } });
    });
  }

  async listVolumes(id: string): Promise<VolumeAttachment[]> {
    return this.load(id).record.spec.volumes ?? [];
  }

  async exportDisk(sourceId: string, snapshot: string | null, rawTarget: BlockSource, onProgress?: (p: StateProgress) => void): Promise<void> {
    const target = validateBlockSource(rawTarget);
    if (target.format !== 'qcow2') throw new HypervisorError('INVALID_SPEC', `a disk is exported as qcow2, not ${target.format}`);
    if (target.path.startsWith(this.guestsDir + path.sep)) throw new HypervisorError('INVALID_SPEC', `${target.path} is in the guests' directory: a disk is exported into a storage pool`);
    const point = snapshot === null ? null : validateSnapshotName(snapshot);
    const made = this.withLock(sourceId, async () => {
      const { layout, record } = this.load(sourceId);
      const holder = this.volumeHolder(null, null, target);
      if (holder) throw new HypervisorError('INVALID_STATE', `${target.path} is attached to guest ${holder}: detach it before writing over it`);
      const from = await this.pointOf(sourceId, layout, point);
      await writeFlatCopy(this.qemuImg, from, target.path, record.spec.diskGiB * 1024 ** 3, onProgress).catch((e: unknown) => {
        throw new HypervisorError('BACKEND_FAILED', `exporting the disk of guest ${sourceId} failed: ${errorText(e)}`);
      });
    });
    // A point frozen for an export that did not come to be is not kept.
    await made.catch(async (e: unknown) => {
      await this.collect().catch(() => undefined);
      throw e;
    });
  }

  /** The I/O limits QEMU applies to an attached volume of a running guest now (its throttle group's). */
  async liveVolumeLimits(id: string, volumeId: string): Promise<{ 'iops-total': number; 'bps-total': number }> {
    validateVolumeId(volumeId);
    return this.withLock(id, async () => liveVolumeLimits((await this.requireRunning(id)).monitor, volumeId));
  }

  /** The guest (other than `except`) whose record has the volume or its source attached, if any. */
  private volumeHolder(except: string | null, volumeId: string | null, source: BlockSource): string | null {
    return (
      this.guestIds().find((other) => {
        if (other === except) return false;
        try {
          const r = JSON.parse(readRecordFile(this.layout(other).specFile)) as GuestRecord;
          return (r.spec.volumes ?? []).some((v) => sharesVolume(v, volumeId, source.path));
        } catch {
          return false; // gone meanwhile
        }
      }) ?? null
    );
  }

  async destroy(id: string): Promise<void> {
    validateGuestId(id);
    await this.withLock(id, async () => {
      const layout = this.layout(id);
      const t = await this.current(id);
      if (t) await this.forceStopLocked(id, t);
      const pid = readPidFile(layout.pidFile);
      if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) {
        process.kill(pid, 'SIGKILL');
        await waitUntil(() => !isOurProcessAlive(pid, layout.pidFile), 5_000);
      }
      let record: GuestRecord | null = null;
      try {
        record = this.load(id).record;
      } catch {
        // Half-made or destroyed before: nothing of it to give back.
      }
      for (const v of record?.spec.volumes ?? []) this.jail.ownVolume(v.source.path, null);
      // What its linked clones read stays (guest.json goes: it is no guest any more), root's from now on.
      retainOnly(layout.dir, await this.neededByClones(id), {
        baseDisk: record ? (this.catalog.find(record.spec.image)?.diskPath ?? null) : null,
        linkedTo: record?.linkedTo ?? null,
      });
      releaseKeptDir(layout.dir);
      await this.tidyAfterExit(id, null, record);
      // The uid goes to another guest only once nothing runs as it.
      if (record?.uid !== undefined && record?.uid !== null && isGuestUid(record.uid) && (await killAllOfUid(record.uid))) this.jail.uids.release(record.uid, id, path.dirname(layout.dir));
      this.shared?.drop(id);
    });
    await this.collect();
  }

  // Live migration (live-migration.ts) ---------------------------------------------

  async migrationSource(id: string): Promise<IncomingGuest> {
    return this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      const { record, layout } = this.load(id);
      this.notOnSharedPool(id, 'moving it live between hosts that share its disk is not built yet');
      if (record.spec.volumes?.length) throw new HypervisorError('INVALID_STATE', `guest ${id} has volumes attached: they stay in this host's pool`);
      if (existsSync(layout.stateFile)) throw new HypervisorError('INVALID_STATE', `guest ${id} has a saved state here`);
      return { spec: record.spec, machine: this.liveShape(id), diskBytes: (await rootDisk(t.monitor)).bytes };
    });
  }

  async prepareIncoming(guest: IncomingGuest): Promise<void> {
    const { spec, image } = this.checkNewSpec(guest.spec);
    const machine = validateShape(guest.machine);
    if (!Number.isSafeInteger(guest.diskBytes) || guest.diskBytes < spec.diskGiB * 2 ** 30 || guest.diskBytes > 16 * 2 ** 40) {
      throw new HypervisorError('INVALID_SPEC', `an incoming disk of ${guest.diskBytes} bytes does not fit a ${spec.diskGiB} GiB guest`);
    }
    await this.withLock(spec.id, async () => {
      // A prepare asked again (a retried move) finds its guest waiting: nothing to do.
      if (existsSync(this.layout(spec.id).specFile)) {
        const t = await this.current(spec.id);
        if (t && (await qmp.status(t.monitor)).status === 'inmigrate') return;
        throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists on this host`);
      }
      // The disk is one qcow2 of its own (no backing file): the mirror copies the whole disk, base image included.
      await this.makeGuest(spec, image, null, (layout) => run(this.qemuImg, ['create', '-q', '-f', 'qcow2', layout.disk, String(guest.diskBytes)]));
      try {
        await this.spawnGuest(spec.id, { incoming: true, machine, serveDisk: true });
      } catch (e) {
        rmSync(this.layout(spec.id).dir, { recursive: true, force: true });
        throw e;
      }
    });
  }

  async incomingEndpoints(id: string): Promise<{ disk: string; state: string }> {
    const { layout } = this.load(id);
    return { disk: layout.nbdSocket, state: layout.incomingSocket };
  }

  async finishIncoming(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      // The source sees its migration complete a moment before this QEMU has taken in the end of the stream.
      await waitUntilAsync(async () => (await qmp.status(t.monitor)).status !== 'inmigrate', 30_000, t.gone);
      const s = await qmp.status(t.monitor);
      if (s.status === 'inmigrate') throw new HypervisorError('INVALID_STATE', `guest ${id} has not received its whole state yet`);
      await incomingMigration.stopServing(t.monitor);
      if (!s.running) await qmp.cont(t.monitor);
      this.emit({ type: 'started', id, at: new Date() });
    });
  }

  async migrateOut(id: string, open: OpenStream, onProgress?: (p: MigrationProgress) => void, signal?: AbortSignal): Promise<MigrationReport> {
    return this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      const { layout, record } = this.load(id);
      if (record.spec.volumes?.length) throw new HypervisorError('INVALID_STATE', `guest ${id} has volumes attached: they stay in this host's pool`);
      const user = this.jail.userOf(record.uid, (await this.acceleration()).accel);
      // What an earlier try left (a server killed half-way) goes first.
      await dropMirror(t.monitor);
      const disk = await relay(layout.mirrorSocket, user, 'disk', open);
      const state = await relay(layout.migrateSocket, user, 'state', open);
      const cancelled = () => (signal?.aborted ? new Error('the move was cancelled') : null);
      try {
        await mirror.addTarget(t.monitor, layout.mirrorSocket);
        await mirror.start(t.monitor, this.migrateBytesPerSecond);
        await waitForMirrorReady(t.monitor, { timeoutMs: MIGRATE_TIMEOUT_MS, failure: () => cancelled() ?? disk.failure(), onProgress: (p) => onProgress?.({ phase: 'disk', ...p }) });
        if (cancelled()) throw cancelled()!;
        await migration.setBandwidth(t.monitor, this.migrateBytesPerSecond);
        await migration.start(t.monitor, unixUri(layout.migrateSocket));
        await waitForMigration(t.monitor, { timeoutMs: MIGRATE_TIMEOUT_MS, everyMs: 50, failure: cancelled, onProgress: (p) => onProgress?.({ phase: 'memory', ...p }) });
        // Stopped here now (postmigrate): no write can come, so the mirror completes with the target holding every block.
        await completeMirror(t.monitor);
        const done = await migration.query(t.monitor);
        return { downtimeMs: done.downtime ?? 0, diskBytes: disk.sent(), stateBytes: state.sent() };
      } catch (e) {
        await migration.cancel(t.monitor).catch(() => undefined);
        await dropMirror(t.monitor);
        // A failed migration lets the source run again by itself; one that completed before the mirror failed did not.
        if (!(await qmp.status(t.monitor)).running) await qmp.cont(t.monitor).catch(() => undefined);
        throw new HypervisorError('BACKEND_FAILED', `moving guest ${id} failed: ${errorText(e)}`);
      } finally {
        disk.close();
        state.close();
      }
    });
  }

  async exportForMove(id: string): Promise<{ guest: IncomingGuest; file: string }> {
    const out = await this.withLock(id, async () => {
      const { layout, record } = this.load(id);
      if (await this.current(id)) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: it moves live, not as a copy`);
      this.notOnSharedPool(id, 'every host of the pool reaches its disk already; a copy would be a second guest');
      if (record.spec.volumes?.length) throw new HypervisorError('INVALID_STATE', `guest ${id} has volumes attached: they stay in this host's pool`);
      const bytes = record.spec.diskGiB * 1024 ** 3;
      const dir = path.join(this.guestsDir, '.moves');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `${id}.qcow2`);
      rmSync(file, { force: true });
      await writeFlatCopy(this.qemuImg, await this.pointOf(id, layout, null), file, bytes);
      return { guest: { spec: record.spec, machine: coldShape(record.spec), diskBytes: bytes }, file };
    });
    // The point frozen for the copy is not kept.
    await this.collect().catch(() => undefined);
    return out;
  }

  async receiveGuest(guest: IncomingGuest, disk: NodeJS.ReadableStream): Promise<void> {
    const { spec, image } = this.checkNewSpec(guest.spec);
    if (!Number.isSafeInteger(guest.diskBytes) || guest.diskBytes !== spec.diskGiB * 1024 ** 3) {
      throw new HypervisorError('INVALID_SPEC', `a copied disk of ${guest.diskBytes} bytes does not fit a ${spec.diskGiB} GiB guest`);
    }
    await this.withLock(spec.id, async () => {
      if (existsSync(this.layout(spec.id).specFile)) throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists on this host`);
      const dir = path.join(this.guestsDir, '.moves');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const partial = path.join(dir, `${spec.id}.incoming`);
      rmSync(partial, { force: true });
      try {
        await pipeline(disk, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
        // What another host sent is checked before QEMU ever opens it.
        await checkStandaloneQcow2(this.qemuImg, partial, guest.diskBytes).catch((e: unknown) => {
          throw new HypervisorError('INVALID_SPEC', `the disk copied for guest ${spec.id} is refused: ${errorText(e)}`);
        });
        await this.makeGuest(spec, image, null, async (layout) => renameSync(partial, layout.disk));
      } finally {
        rmSync(partial, { force: true });
      }
    });
  }

  async abortMigrationOut(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      const now = await migration.query(t.monitor);
      if (now.status === 'setup' || now.status === 'active') await migration.cancel(t.monitor).catch(() => undefined);
      await dropMirror(t.monitor);
      // Stopped after a completed migration (postmigrate): cont takes its disks back and runs it here.
      if (!(await qmp.status(t.monitor)).running) await qmp.cont(t.monitor);
    });
  }

  // 4. Questions -------------------------------------------------------------

  async status(id: string): Promise<GuestStatus> {
    const { layout } = this.load(id);
    if (this.starting.has(id)) {
      const pid = readPidFile(layout.pidFile);
      return pid !== null && isOurProcessAlive(pid, layout.pidFile) ? { id, state: 'running', pid } : { id, state: 'stopped', pid: null };
    }
    const t = await this.current(id);
    if (!t) return { id, state: 'stopped', pid: null };
    try {
      const s = await qmp.status(t.monitor);
      return { id, state: s.running ? 'running' : s.status === 'shutdown' ? 'stopped' : 'paused', pid: t.pid };
    } catch {
      const alive = this.aliveTracked(id);
      return { id, state: alive ? 'running' : 'stopped', pid: alive?.pid ?? null };
    }
  }

  async list(): Promise<GuestStatus[]> {
    return Promise.all(this.guestIds().sort().map((id) => this.status(id)));
  }

  /** The spec a guest was created with. */
  spec(id: string): GuestSpec {
    return this.load(id).record.spec;
  }

  async console(id: string): Promise<ConsoleEndpoint> {
    const { layout } = this.load(id);
    return { vncSocket: layout.vncSocket, serialSocket: layout.serialSocket };
  }

  async serialLog(id: string, maxBytes = 64 * 1024): Promise<string> {
    const { layout } = this.load(id);
    capSerialLog(layout);
    return readSerialLog(layout, Math.max(0, Math.min(maxBytes, 1 << 20)));
  }

  async screenshot(id: string): Promise<Buffer> {
    return this.withLock(id, async () => {
      const t = await this.requireRunning(id);
      const { layout } = this.load(id);
      // Into the file made for it at start (the run directory is closed to QEMU's user); overwritten each time.
      await qmp.screendump(t.monitor, layout.screendump);
      return readFile(layout.screendump);
    });
  }

  async stats(id: string): Promise<GuestStats> {
    const t = await this.requireRunning(id);
    const usage = processUsage(t.pid);
    const blocks = await qmp.blockstats(t.monitor);
    const mem = await qmp.memorySummary(t.monitor);
    return {
      cpuTimeMs: usage.cpuTimeMs,
      memoryMiB: Math.round(mem['base-memory'] / 1048576),
      residentMiB: Math.round(usage.rssKiB / 1024),
      disks: blocks.map((b) => ({
        device: b.device || b.qdev || '',
        readBytes: b.stats.rd_bytes,
        writeBytes: b.stats.wr_bytes,
        readOps: b.stats.rd_operations,
        writeOps: b.stats.wr_operations,
      })),
      // A tap's counters are the host's view: what it received, the guest sent.
      // User-mode NICs have no host device to count on.
      nics: this.load(id).record.spec.nics.map((n) => {
        const c = n.tap ? tapGuestCounters(n.tap) : null;
        return { mac: n.mac, rxBytes: c?.rxBytes ?? null, txBytes: c?.txBytes ?? null };
      }),
    };
  }

  async guestInfo(id: string): Promise<GuestInfo | null> {
    if (!this.hasAgent(id) || !(await this.current(id))) return null;
    const sock = this.layout(id).qgaSocket;
    try {
      const os = await agent.osInfo(sock);
      const [host, ifaces] = await Promise.all([agent.hostName(sock).catch(() => null), agent.interfaces(sock).catch(() => [])]);
      return {
        osName: os['pretty-name'] ?? os.name ?? null,
        kernel: os['kernel-release'] ?? null,
        hostname: host?.['host-name'] ?? null,
        interfaces: ifaces
          .filter((i) => i.name !== 'lo')
          .map((i) => ({
            name: i.name,
            mac: i['hardware-address'] ?? null,
            ipv4: (i['ip-addresses'] ?? []).filter((a) => a['ip-address-type'] === 'ipv4').map((a) => a['ip-address']),
            ipv6: (i['ip-addresses'] ?? []).filter((a) => a['ip-address-type'] === 'ipv6').map((a) => a['ip-address']),
          })),
      };
    } catch (e) {
      if (e instanceof GuestAgentError) return null;
      throw e;
    }
  }

  async freezeFilesystems(id: string): Promise<number> {
    return this.agentCommand(id, (sock) => agent.fsFreeze(sock));
  }

  async thawFilesystems(id: string): Promise<number> {
    return this.agentCommand(id, (sock) => agent.fsThaw(sock));
  }

  /** MAC addresses the guest's NICs get, in order. */
  macs(id: string): string[] {
    return this.load(id).record.spec.nics.map((n) => n.mac);
  }

  async restoreTaps(id: string): Promise<string[]> {
    return this.withLock(id, async () => {
      const { record } = this.load(id);
      const t = await this.current(id);
      if (!t) return [];
      const gone = record.spec.nics.flatMap((n) => (n.tap && !existsSync(`/sys/class/net/${n.tap}`) ? [n.tap] : []));
      if (gone.length === 0) return [];
      return restoreDetachedTaps(t.pid, gone);
    });
  }

  // Shared pool (shared-pool.ts) -------------------------------------------------

  sharedPool(): { id: string; dir: string } | null {
    return this.shared ? { id: this.shared.id, dir: this.shared.dir } : null;
  }

  async hasSharedGuest(id: string): Promise<boolean> {
    return this.shared?.holds(validateGuestId(id)) ?? false;
  }

  async adoptShared(id: string, opts: { nics?: NicSpec[] } = {}): Promise<void> {
    validateGuestId(id);
    const shared = this.shared;
    if (!shared) throw new HypervisorError('INVALID_STATE', 'this host has no shared pool');
    await this.withLock(id, async () => {
      if (shared.owns(id)) return; // taken over already (a retried job)
      if (existsSync(path.join(this.guestsDir, id))) throw new HypervisorError('ALREADY_EXISTS', `guest ${id} already exists on this host`);
      if (!shared.holds(id)) throw new HypervisorError('NOT_FOUND', `the shared pool holds no guest ${id}`);
      const layout = guestLayout(shared.guestsDir, id);
      const record = JSON.parse(readRecordFile(layout.specFile)) as GuestRecord;
      // Its NICs as this host wires them (tap names are per host); checked as any spec is.
      if (opts.nics) record.spec = { ...record.spec, nics: opts.nics };
      record.spec = validateGuestSpec(record.spec);
      // Its uid was claimed on the machine of the host that had it: here it gets one of this machine's at its next start
      // (the same one, where both hosts are one machine and the claim is still its).
      const mine = record.uid != null ? this.jail.uids.claims().find((c) => c.uid === record.uid && c.id === id && c.guestsDir === shared.guestsDir) : undefined;
      // A saved state loads into the machine it was saved from; otherwise it boots cold from its spec.
      const adopted: GuestRecord = { ...record, uid: mine ? record.uid : null, machine: existsSync(layout.stateFile) ? (record.machine ?? null) : null };
      // What the last host's QEMU left in its run directory (sockets, pid file) is not this host's.
      rmSync(layout.runDir, { recursive: true, force: true });
      rmSync(layout.statePartial, { force: true });
      writeRecordFile(layout.specFile, JSON.stringify(adopted, null, 2) + '\n');
      shared.claim(id);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.logTimer);
    for (const t of this.tracked.values()) t.monitor.close();
    this.tracked.clear();
  }

  // 5. Internals ---------------------------------------------------------------

  /** Its directory: on the shared pool when this host owns it there, else here. */
  private layout(id: string): GuestLayout {
    return guestLayout(this.shared?.owns(id) ? this.shared.guestsDir : this.guestsDir, id);
  }

  /** The refusal for what a guest on the shared pool cannot do (yet), if it is one. */
  private notOnSharedPool(id: string, what: string): void {
    if (this.shared?.owns(id)) throw new HypervisorError('INVALID_STATE', `guest ${id} is on the shared pool: ${what}`);
  }

  private imageOf(id: string): GuestImage | null {
    return this.catalog.find(this.load(id).record.spec.image);
  }

  private hasAgent(id: string): boolean {
    return this.imageOf(id)?.features.guestAgent === true;
  }

  private async agentCommand<T>(id: string, fn: (sock: string) => Promise<T>): Promise<T> {
    return this.withLock(id, async () => {
      await this.requireRunning(id);
      if (!this.hasAgent(id)) throw new HypervisorError('INVALID_STATE', `the image of guest ${id} has no guest agent`);
      try {
        return await fn(this.layout(id).qgaSocket);
      } catch (e) {
        if (e instanceof GuestAgentError) throw new HypervisorError('INVALID_STATE', `guest ${id}: ${e.message}`);
        throw e;
      }
    });
  }

  /** The file a qcow2 file is backed by (read without taking QEMU's lock), or null. */
  private async backingOf(file: string): Promise<string | null> {
    const { stdout } = await run(this.qemuImg, ['info', '-U', '--output=json', file]);
    const info = JSON.parse(stdout) as { 'full-backing-filename'?: string; 'backing-filename'?: string };
    return info['full-backing-filename'] ?? info['backing-filename'] ?? null;
  }

  /**
   * Stream the paused guest's state into `final` (complete once it exists):
   * QEMU sends it to a socket the server serves and the server writes it.
   * A migration left from a server that died mid-way is cancelled first (its
   * stream had nowhere to go). Under the guest's lock.
   */
  private async saveTo(id: string, t: Tracked, final: string, onProgress?: (p: StateProgress) => void): Promise<void> {
    const layout = this.layout(id);
    const now = await migration.query(t.monitor);
    if (now.status === 'setup' || now.status === 'active') {
      await migration.cancel(t.monitor).catch(() => undefined);
      if (!(await waitUntilAsync(async () => !['setup', 'active', 'cancelling'].includes((await migration.query(t.monitor)).status), 30_000))) {
        throw new Error('an earlier save of its state would not stop');
      }
    }
    const user = this.jail.userOf(this.load(id).record.uid, (await this.acceleration()).accel);
    const sink = await listenForState(layout.migrateSocket, `${final}.partial`, final, user);
    try {
      await migration.setBandwidth(t.monitor, this.saveBytesPerSecond);
      await migration.start(t.monitor, unixUri(layout.migrateSocket));
      await waitForMigration(t.monitor, { onProgress, timeoutMs: SAVE_TIMEOUT_MS });
      // QEMU has sent it all; the file is final once the server has it synced and renamed.
      const committed = sink.commit().then(() => undefined);
      if (!(await settlesWithin(committed.catch(() => undefined), 60_000))) throw new Error('the state file was not completed within 60 s');
      await committed;
    } finally {
      sink.close();
    }
  }

  /** Start QEMU for the guest as `machine`, waiting for a state, load `stateFile` into it and let it run. Under the guest's lock. */
  private async loadState(id: string, layout: GuestLayout, stateFile: string, machine: MachineShape, onProgress?: (p: StateProgress) => void): Promise<void> {
    await this.spawnGuest(id, { incoming: true, machine });
    const t = this.tracked.get(id)!;
    // The server's own file, or the restore is refused (a link the guest's user planted is never read).
    const own = openOwnFile(stateFile);
    closeSync(own.fd);
    const size = own.size;
    try {
      // QEMU listens on its incoming socket from the start (-incoming unix:…); the server feeds it the file, and what it has sent is the progress.
      let sent = 0;
      const feeding = sendState(layout.incomingSocket, stateFile, (n) => (sent = n));
      feeding.catch(() => undefined);
      const ok = await waitUntilAsync(async () => {
        onProgress?.({ doneBytes: sent, totalBytes: size });
        return (await qmp.status(t.monitor).catch(() => ({ status: 'inmigrate' }))).status !== 'inmigrate';
      }, RESTORE_TIMEOUT_MS, t.gone);
      if (!ok) throw new Error(isOurProcessAlive(t.pid, layout.pidFile) ? 'loading the state timed out' : 'QEMU could not load the state and exited');
      // It was saved paused, so it comes back paused: let it go on from there.
      if (!(await qmp.status(t.monitor)).running) await qmp.cont(t.monitor);
    } catch (e) {
      // The state file stays: nothing is lost, and the restore can be tried again.
      await this.forceStopLocked(id, t).catch(() => undefined);
      throw new HypervisorError('BACKEND_FAILED', `restoring guest ${id} failed: ${errorText(e)}`);
    }
    onProgress?.({ doneBytes: size, totalBytes: size });
    this.emit({ type: 'started', id, at: new Date() });
  }

  /**
   * Run QEMU for a guest (booting, or waiting for its saved state) as the
   * guest's own user, in its cgroup, and attach QMP; undo everything on
   * failure. Under the guest's lock.
   */
  private async spawnGuest(id: string, opts: { incoming: boolean; machine?: MachineShape; serveDisk?: boolean }): Promise<void> {
    const { layout } = this.load(id);
    const image = this.imageOf(id);
    const { accel } = await this.acceleration();
    const user = this.userFor(id, accel);
    const { record } = this.load(id);
    if (!image) throw new HypervisorError('BACKEND_FAILED', `image "${record.spec.image}" of guest ${id} is gone from the catalog`);
    // A boot folds whatever was hot-added into the spec's numbers; a saved state loads into the machine it was saved from.
    const machine = opts.machine ?? coldShape(record.spec);
    this.saveRecord(layout, { ...record, machine });
    const args = buildQemuArgs({
      spec: record.spec,
      image,
      layout,
      accel,
      seed: existsSync(layout.seedIso),
      guestAgent: image.features.guestAgent,
      incoming: opts.incoming,
      diskPath: readChain(layout.dir, layout.disk).active,
      machine,
    });
    this.removeRuntimeFiles(layout);
    const taps = record.spec.nics.flatMap((n) => (n.tap ? [n.tap] : []));
    let group: GuestGroup | null = null;
    let pid: number | null = null;
    this.starting.add(id);
    try {
      mkdirSync(layout.runDir, { recursive: true, mode: 0o700 });
      if (user) {
        // Nothing may run as its user but the QEMU started now.
        if (!(await killAllOfUid(user.uid))) throw new Error(`processes of uid ${user.uid} would not end`);
        // QEMU writes its screenshots into this file; once it is up, it can make nothing new in the run directory.
        closeSync(openSync(layout.screendump, 'wx', 0o600));
        // Sticky: while it may make its sockets there, QEMU cannot remove or rename what the server made.
        applyFileRules([{ path: layout.runDir, uid: 0, gid: user.gid, mode: 0o1770 }, { path: layout.screendump, uid: user.uid, gid: user.gid, mode: 0o600 }]);
        await this.secureFiles(id, user);
        for (const v of record.spec.volumes ?? []) this.jail.ownVolume(v.source.path, user);
        // A tap is made for its user before QEMU opens it (that user could not make one).
        await this.jail.makeTaps(user, taps);
      }
      group = this.jail.cgroups?.create(id, this.jail.limitsFor(shapeTotals(machine), accel)) ?? null;
      const proc = startQemu({ binary: this.qemu, args, logFile: layout.qemuLog, cwd: layout.dir, runAs: this.jail.runAs(user) });
      pid = await waitForPidFile(proc, layout.pidFile, layout.qemuLog);
      // Into its cgroup while its vCPUs are still stopped (-S): all it runs is charged there.
      if (group) this.jail.cgroups!.place(group, pid);
      await this.attach(id, layout, pid, 10_000, group);
      // A live migration's target serves its disk to the source's mirror: QEMU makes that socket too, before the directory closes.
      if (opts.serveDisk) await incomingMigration.serveDisk(this.tracked.get(id)!.monitor, layout.nbdSocket);
      // QEMU has made its sockets (QMP answers once it is up): from now on its user cannot add, remove or swap anything
      // in the run directory, so every socket and file the server uses there stays the one QEMU made.
      this.closeRunDir(id);
      if (!opts.incoming) await qmp.cont(this.tracked.get(id)!.monitor);
    } catch (e) {
      // Undo: no process, no sockets, no taps, no cgroup (the overlay belongs to create).
      pid ??= readPidFile(layout.pidFile);
      if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) {
        process.kill(pid, 'SIGKILL');
        await waitUntil(() => !isOurProcessAlive(pid!, layout.pidFile), 5_000);
      }
      this.tracked.get(id)?.monitor.close();
      this.tracked.delete(id);
      this.removeRuntimeFiles(layout);
      rmSync(layout.qemuLog, { force: true }); // what it said is in the error
      this.closeRunDir(id);
      if (user) await this.jail.removeTaps(taps);
      if (group) await this.jail.cgroups!.remove(group);
      if (!opts.incoming) rmSync(layout.serialLog, { force: true });
      try {
        rmdirSync(layout.runDir); // only if nothing of an earlier run is kept there
      } catch {
        // Not empty: the serial log of the last run stays readable.
      }
      throw new HypervisorError('BACKEND_FAILED', `starting guest ${id} failed: ${errorText(e)}`);
    } finally {
      this.starting.delete(id);
    }
  }

  /**
   * The user a guest's QEMU runs as (claimed on its first start where guests
   * get users of their own; recorded), or null where guests run as the server.
   */
  private userFor(id: string, accel: Acceleration): GuestUser | null {
    if (!this.jail.userIsolation(accel).enforced) return null;
    const { layout, record } = this.load(id);
    if (record.uid === undefined || record.uid === null) {
      record.uid = this.jail.uids.claim(id, path.dirname(layout.dir));
      this.saveRecord(layout, record);
    }
    return this.jail.userOf(record.uid, accel);
  }

  /**
   * Give the guest's files the owners and modes jail.ts sets out: what its
   * QEMU writes is its user's, what it only reads is root's and readable by
   * it (or by anyone, while a linked clone builds on it). After anything that
   * changes its chain. Under the guest's lock.
   */
  private async secureFiles(id: string, user?: GuestUser | null): Promise<void> {
    const { layout, record } = this.load(id);
    const u = user === undefined ? this.jail.userOf(record.uid, (await this.acceleration()).accel) : user;
    if (!u) return;
    const chain = readChain(layout.dir, layout.disk);
    const shared = await this.neededByClones(id);
    const frozen = [...Object.values(chain.snapshots).map((x) => x.file), ...(chain.retained ?? [])];
    applyFileRules(guestFileRules({ dir: layout.dir, user: u, active: chain.active, frozen, shared, seed: layout.seedIso, serialLog: layout.serialLog }));
  }

  /** The guest's record, replaced whole (a crash leaves the old one or the new one). */
  private saveRecord(layout: GuestLayout, record: GuestRecord): void {
    writeRecordFile(layout.specFile, JSON.stringify(record, null, 2) + '\n');
  }

  /** The machine its process (or its saved state) is: as recorded, or (guests from before hotplug) a cold boot of its spec. */
  private liveShape(id: string): MachineShape {
    const { record } = this.load(id);
    return record.machine ? validateShape(record.machine) : coldShape(record.spec);
  }

  private load(id: string): { layout: GuestLayout; record: GuestRecord } {
    const layout = this.layout(id);
    let record: GuestRecord;
    try {
      record = JSON.parse(readRecordFile(layout.specFile)) as GuestRecord;
    } catch {
      throw new HypervisorError('NOT_FOUND', `guest ${id} does not exist`);
    }
    return { layout, record: { ...record, spec: validateGuestSpec(record.spec) } };
  }

  private aliveTracked(id: string): Tracked | null {
    const t = this.tracked.get(id);
    if (!t) return null;
    return isOurProcessAlive(t.pid, this.layout(id).pidFile) ? t : null;
  }

  /**
   * The guest's live QEMU, attaching to it if another driver instance (or
   * process) started it since we looked; null when nothing runs.
   */
  private async current(id: string): Promise<Tracked | null> {
    const known = this.aliveTracked(id);
    if (known) return known;
    const layout = this.layout(id);
    const pid = readPidFile(layout.pidFile);
    if (pid === null || !isOurProcessAlive(pid, layout.pidFile)) return null;
    // Our own start() is about to connect; taking QMP here would lock it out.
    if (this.starting.has(id)) return null;
    // Concurrent callers share one attach (QMP serves one client).
    let attaching = this.attaching.get(id);
    if (!attaching) {
      const stale = this.tracked.get(id);
      if (stale) stale.monitor.close();
      attaching = this.attach(id, layout, pid, ADOPT_CONNECT_MS, this.jail.cgroups?.groupOfPid(pid, id) ?? null)
        .catch(() => undefined) // reachable or not, it runs: keep it tracked by pid
        .finally(() => this.attaching.delete(id));
      this.attaching.set(id, attaching);
    }
    await attaching;
    const t = this.aliveTracked(id);
    // Found waiting for a start that never finished, while this guest's lock is ours (nobody else is starting it): run it.
    if (t?.monitor.connected && this.holding.has(id) && (await qmp.status(t.monitor).catch(() => null))?.status === 'prelaunch') {
      this.closeRunDir(id);
      await qmp.cont(t.monitor);
    }
    return t;
  }

  private async requireRunning(id: string): Promise<Tracked> {
    this.load(id);
    const t = await this.current(id);
    if (!t) throw new HypervisorError('INVALID_STATE', `guest ${id} is not running`);
    return t;
  }

  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new HypervisorError('INVALID_STATE', 'driver is closed');
    const prev = this.locks.get(id) ?? Promise.resolve();
    // In-process queue first, then the cross-process lock file.
    const locked = () =>
      withGuestFileLock(path.join(this.guestsDir, '.locks'), validateGuestId(id), async () => {
        this.holding.add(id);
        try {
          return await fn();
        } finally {
          this.holding.delete(id);
        }
      });
    const next = prev.then(locked, locked);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  private emit(event: GuestEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not break the driver.
      }
    }
  }

  /**
   * Track a running QEMU and connect QMP. `connectMs` is short when adopting:
   * QMP serves one client, and a guest whose monitor another driver holds
   * should not stall us (it stays tracked by pid).
   */
  private async attach(id: string, layout: GuestLayout, pid: number, connectMs = 10_000, group: GuestGroup | null = null): Promise<void> {
    let markGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    const monitor = new QmpMonitor({
      socketPath: layout.qmpSocket,
      isAlive: () => isOurProcessAlive(pid, layout.pidFile),
      onEvent: (e) => this.onQmpEvent(id, e),
      onGone: () => this.onGone(id, t),
    });
    const t: Tracked = { pid, monitor, forced: false, saved: false, shutdown: null, gone, markGone, group };
    this.tracked.set(id, t);
    await monitor.connect(connectMs);
  }

  private onQmpEvent(id: string, e: QmpEventMessage): void {
    const t = this.tracked.get(id);
    if (e.event === 'SHUTDOWN' && t) t.shutdown = shutdownOf(e);
    // The start's own `cont` (QEMU starts with its vCPUs stopped) is no resume.
    if (e.event === 'RESUME' && this.starting.has(id)) return;
    const event = guestEventOf(id, e, Boolean(t?.shutdown));
    if (event) this.emit(event);
    for (const l of this.qmpListeners.get(id) ?? []) l(e);
  }

  /** Hear a guest's QMP events until the returned function is called. */
  private tapQmpEvents(id: string, listener: (e: QmpEventMessage) => void): () => void {
    const set = this.qmpListeners.get(id) ?? new Set();
    this.qmpListeners.set(id, set.add(listener));
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.qmpListeners.get(id) === set) this.qmpListeners.delete(id);
    };
  }

  private onGone(id: string, t: Tracked): void {
    // Only tidy if no newer QEMU has taken the guest's place meanwhile.
    if (this.tracked.get(id) === t) {
      this.tracked.delete(id);
      const layout = this.layout(id);
      if (existsSync(layout.dir)) this.removeRuntimeFiles(layout);
      // Its taps and cgroup, once nothing runs it: under its lock, so a start queued behind never loses its own.
      if (!this.closed) void this.withLock(id, () => this.tidyAfterExit(id, t.group)).catch(() => undefined);
    }
    t.markGone();
    this.emit({ type: 'stopped', id, at: new Date(), reason: t.saved ? 'saved' : stopReasonOf(t.forced, t.shutdown) });
  }

  private async forceStopLocked(id: string, t: Tracked): Promise<void> {
    t.forced = true;
    try {
      await qmp.quit(t.monitor);
    } catch {
      // QEMU may close the socket before answering; the pid decides.
    }
    if (!(await settlesWithin(t.gone, 3_000))) {
      if (isOurProcessAlive(t.pid, this.layout(id).pidFile)) process.kill(t.pid, 'SIGKILL');
      if (!(await settlesWithin(t.gone, 5_000))) {
        throw new HypervisorError('BACKEND_FAILED', `QEMU of guest ${id} (pid ${t.pid}) did not exit`);
      }
    }
    await this.endGuestProcesses(id);
  }

  /**
   * Kill whatever still runs as the guest's user once its QEMU is taken to be
   * gone: that is decided from its pid file and command line, which a QEMU a
   * guest escaped into can forge, while its uid it cannot. Under the guest's lock.
   */
  private async endGuestProcesses(id: string): Promise<void> {
    let uid: number | null | undefined;
    try {
      uid = this.load(id).record.uid;
    } catch {
      return; // no record: no user of its own
    }
    if (uid === null || uid === undefined || !isGuestUid(uid)) return;
    if (!(await killAllOfUid(uid))) throw new HypervisorError('BACKEND_FAILED', `processes of guest ${id}'s user (uid ${uid}) would not end`);
    removeFilesOfUid(uid);
  }

  private removeRuntimeFiles(layout: GuestLayout): void {
    for (const f of [layout.qmpSocket, layout.vncSocket, layout.serialSocket, layout.qgaSocket, layout.pidFile, layout.screendump, layout.migrateSocket, layout.incomingSocket, layout.nbdSocket, layout.mirrorSocket]) {
      rmSync(f, { force: true });
    }
  }

  /** Remove what a guest's QEMU had on the host (persistent taps, its cgroup) once none runs it. Under the guest's lock. */
  private async tidyAfterExit(id: string, group: GuestGroup | null, known?: GuestRecord | null): Promise<void> {
    const layout = this.layout(id);
    const pid = readPidFile(layout.pidFile);
    if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) return;
    let record = known ?? null;
    if (!record) {
      try {
        record = this.load(id).record;
      } catch {
        // Destroyed: destroy removed its taps; the cgroup is all there may be.
      }
    }
    if (record?.uid !== undefined && record?.uid !== null) {
      // Taken for gone: so nothing may run as its user any more.
      if (isGuestUid(record.uid)) await killAllOfUid(record.uid);
      await this.jail.removeTaps(record.spec.nics.flatMap((n) => (n.tap ? [n.tap] : [])));
    }
    const cg = this.jail.cgroups;
    if (cg) await cg.remove(group ?? cg.groupOf(id));
  }

  /**
   * The cgroup of a QEMU that outlived an earlier server: where it is, or
   * made again with the limits of the machine it runs (a host whose groups
   * were lost, or a guest started before cgroups were used) and moved there.
   */
  private adoptGroup(id: string, pid: number, accel: Acceleration): GuestGroup | null {
    const cg = this.jail.cgroups;
    if (!cg) return null;
    const found = cg.groupOfPid(pid, id);
    if (found) return found;
    try {
      const group = cg.create(id, this.jail.limitsFor(shapeTotals(this.liveShape(id)), accel));
      cg.place(group, pid);
      return group;
    } catch {
      return null; // it runs unconfined; the next start puts it in its group
    }
  }

  /** Let a guest's QEMU run if it still waits with its vCPUs stopped after its start (prelaunch). Under the guest's lock. */
  private async runIfLeftStopped(id: string): Promise<void> {
    const t = await this.current(id);
    // Unreachable (another driver holds its QMP, or the host is slow): the next attach under its lock looks again (current()).
    if (!t?.monitor.connected) return;
    if ((await qmp.status(t.monitor)).status === 'prelaunch') {
      this.closeRunDir(id); // its start never got that far
      await qmp.cont(t.monitor);
    }
  }

  /** Close the guest's run directory to its user (root:N 0750): what QEMU made there stays what the server uses. */
  private closeRunDir(id: string): void {
    const { layout, record } = this.load(id);
    if (record.uid !== undefined && record.uid !== null && isGuestUid(record.uid)) applyFileRules([{ path: layout.runDir, uid: 0, gid: record.uid, mode: 0o750 }]);
  }

  /** Re-attach to guests whose QEMU survived us; tidy after those that did not. */
  private async adoptAll(): Promise<void> {
    const { accel } = await this.acceleration();
    for (const id of this.guestIds()) {
      const layout = this.layout(id);
      if (!existsSync(layout.specFile)) continue;
      const pid = readPidFile(layout.pidFile);
      if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) {
        const group = this.adoptGroup(id, pid, accel);
        try {
          await this.attach(id, layout, pid, ADOPT_CONNECT_MS, group);
        } catch {
          // Alive but unreachable: leave it tracked by pid; status still answers from the pid.
        }
        // A server that died between starting QEMU (vCPUs stopped) and letting it run left it waiting: once nobody
        // else is starting it (its lock), it is in its group, so run it. Not waited for: the other guests go on being adopted.
        void this.withLock(id, () => this.runIfLeftStopped(id)).catch(() => undefined);
      } else {
        this.removeRuntimeFiles(layout);
        await this.tidyAfterExit(id, null).catch(() => undefined);
      }
    }
  }
}
