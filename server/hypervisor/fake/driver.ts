// An in-memory HypervisorDriver with timed transitions, for tests of code
// above the hypervisor (instances, jobs, the reconciler) that should not boot
// real guests. Same validation and errors as the real drivers; `crash()`
// simulates a guest dying outside Cirrus; `holdVolumes()` a guest that does
// not let go of its volumes; `setStats()` what its counters say. Volumes live in the records only: a source is
// not opened, and exportDisk writes nothing (`exported()` says what it would).
import { DEFAULT_IMAGE_ID } from '../images/catalog';
import { validateGuestId, validateGuestSpec, type ImageLimits } from '../spec';
import { coldShape, hotAddWhyNot } from '../machine';
import { planAttach, sharesVolume, validateBlockSource, validateVolumeAttachment, validateVolumeId, validateVolumeLimits, volumesWhyNot } from '../volumes';
import {
  HypervisorError,
  type ConsoleEndpoint,
  type GuestEvent,
  type GuestEventListener,
  type CaptureOptions,
  type CapturedImage,
  type CloneOptions,
  type GuestSnapshot,
  type GuestSpec,
  type GuestStats,
  type GuestStatus,
  type HostInfo,
  type HypervisorDriver,
  type ResizeRequest,
  type SavedState,
  type StateProgress,
  type StopOptions,
  type StopReason,
  type BlockSource,
  type VolumeAttachment,
  type VolumeLimits,
} from '../types';

export interface FakeDriverOptions {
  /** How long start/stop/reboot take, ms (default 20). */
  transitionMs?: number;
  images?: Record<string, ImageLimits>;
  host?: Partial<HostInfo>;
  /** A shared pool several fake hosts reach (the same object given to each). */
  sharedPool?: FakeSharedPool;
}

/** What a shared pool holds, in memory: each guest's spec and the host that owns it. */
export type FakeSharedPool = { id: string; guests: Map<string, { spec: GuestSpec; owner: FakeHypervisor }> };

interface FakeGuest {
  spec: GuestSpec;
  state: 'running' | 'paused' | 'stopped';
  pid: number | null;
  serial: string;
  /** Its saved state: the RAM size stands in for the file. */
  saved: SavedState | null;
  snapshots: Map<string, GuestSnapshot>;
  /** Set by holdVolumes(): its OS does not let go of a volume. */
  holdsVolumes?: boolean;
  /** Set by setStats(): what stats() reports until its process ends (a new one counts from zero). */
  stats?: Partial<GuestStats>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeHypervisor implements HypervisorDriver {
  readonly name = 'fake';
  private readonly guests = new Map<string, FakeGuest>();
  private readonly listeners = new Set<GuestEventListener>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private nextPid = 1000;
  private readonly transitionMs: number;
  private readonly images: Record<string, ImageLimits>;
  private readonly host: HostInfo;
  private readonly exports = new Map<string, { sourceId: string; snapshot: string | null; virtualSizeBytes: number }>();
  private readonly shared: FakeSharedPool | null;

  constructor(opts: FakeDriverOptions = {}) {
    this.transitionMs = opts.transitionMs ?? 20;
    this.images = opts.images ?? { [DEFAULT_IMAGE_ID]: { minMemoryMiB: 96, minDiskGiB: 1 } };
    this.host = { cpus: 8, memoryMiB: 32768, freeDiskGiB: 500, acceleration: 'tcg', hypervisor: 'fake 1', isolation: null, ...opts.host };
    this.shared = opts.sharedPool ?? null;
  }

  sharedPool(): { id: string; dir: string } | null {
    return this.shared ? { id: this.shared.id, dir: `/fake-shared/${this.shared.id}` } : null;
  }

  async hasSharedGuest(id: string): Promise<boolean> {
    return this.shared?.guests.has(validateGuestId(id)) ?? false;
  }

  async adoptShared(id: string, opts: { nics?: GuestSpec['nics'] } = {}): Promise<void> {
    validateGuestId(id);
    const entry = this.shared?.guests.get(id);
    if (!entry) throw new HypervisorError('NOT_FOUND', `the shared pool holds no guest ${id}`);
    await this.lock(id, async () => {
      if (entry.owner === this) return;
      // The host that had it no longer lists it (a real one reads the pool's owner file).
      entry.owner.guests.delete(id);
      entry.owner = this;
      this.guests.set(id, { spec: opts.nics ? { ...entry.spec, nics: opts.nics } : entry.spec, state: 'stopped', pid: null, serial: '', saved: null, snapshots: new Map() });
    });
  }

  async hostInfo(): Promise<HostInfo> {
    return { ...this.host };
  }

  onEvent(listener: GuestEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async create(raw: GuestSpec, opts: { shared?: boolean } = {}): Promise<void> {
    const spec = this.checkSpec(raw);
    if (opts.shared && !this.shared) throw new HypervisorError('INVALID_SPEC', 'this host has no shared pool');
    await this.lock(spec.id, async () => {
      if (this.guests.has(spec.id) || (opts.shared && this.shared!.guests.has(spec.id))) throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists`);
      this.guests.set(spec.id, { spec, state: 'stopped', pid: null, serial: '', saved: null, snapshots: new Map() });
      if (opts.shared) this.shared!.guests.set(spec.id, { spec, owner: this });
    });
  }

  async clone(sourceId: string, raw: GuestSpec, opts: CloneOptions, onProgress?: (p: StateProgress) => void): Promise<void> {
    const spec = this.checkSpec(raw);
    await this.lock(sourceId, async () => {
      const src = this.get(sourceId);
      if (src.spec.image !== spec.image || src.spec.diskGiB !== spec.diskGiB) throw new HypervisorError('INVALID_SPEC', `a clone of ${sourceId} runs its image and has its disk size`);
      if (opts.snapshot === null && src.saved) throw new HypervisorError('INVALID_STATE', `guest ${sourceId} is suspended: resume it first, or clone one of its snapshots`);
      if (opts.snapshot !== null && !src.snapshots.has(opts.snapshot)) throw new HypervisorError('NOT_FOUND', `guest ${sourceId} has no snapshot ${opts.snapshot}`);
      if (this.guests.has(spec.id)) throw new HypervisorError('ALREADY_EXISTS', `guest ${spec.id} already exists`);
      if (!opts.linked) onProgress?.({ doneBytes: 1, totalBytes: 1 });
      await sleep(this.transitionMs);
      this.guests.set(spec.id, { spec, state: 'stopped', pid: null, serial: '', saved: null, snapshots: new Map() });
    });
  }

  async resize(id: string, to: ResizeRequest): Promise<GuestSpec> {
    return this.lock(id, async () => {
      const g = this.get(id);
      const want = { vcpus: to.vcpus ?? g.spec.vcpus, memoryMiB: to.memoryMiB ?? g.spec.memoryMiB, diskGiB: to.diskGiB ?? g.spec.diskGiB };
      if (want.diskGiB < g.spec.diskGiB) throw new HypervisorError('INVALID_SPEC', `a disk only grows: guest ${id} has ${g.spec.diskGiB} GiB`);
      if (g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it, or stop it, to resize it`);
      if (g.state === 'stopped') {
        const max = { maxVcpus: Math.max(want.vcpus, to.maxVcpus ?? g.spec.maxVcpus ?? want.vcpus), maxMemoryMiB: Math.max(want.memoryMiB, to.maxMemoryMiB ?? g.spec.maxMemoryMiB ?? want.memoryMiB) };
        g.spec = validateGuestSpec({ ...g.spec, ...want, ...max, nics: to.nics ?? g.spec.nics }, this.images[g.spec.image]);
        return g.spec;
      }
      if (to.nics && JSON.stringify(to.nics) !== JSON.stringify(g.spec.nics)) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: its NICs change while it is stopped`);
      const why = hotAddWhyNot(coldShape(g.spec), want);
      if (why) throw new HypervisorError('INVALID_STATE', `guest ${id}: ${why}`);
      await sleep(this.transitionMs);
      g.spec = { ...g.spec, ...want };
      return g.spec;
    });
  }

  /** Captured images: they join the catalog the fake boots (8 MiB of "files" each). */
  private readonly captured = new Map<string, { source: string; limits: ImageLimits }>();

  async captureImage(sourceId: string, opts: CaptureOptions, onProgress?: (p: StateProgress) => void): Promise<CapturedImage> {
    return this.lock(sourceId, async () => {
      const src = this.get(sourceId);
      const made = { id: opts.imageId, sizeBytes: 8 * 1024 * 1024, virtualSizeBytes: src.spec.diskGiB * 1024 ** 3 };
      if (this.captured.get(opts.imageId)?.source === sourceId) return made;
      if (this.images[opts.imageId]) throw new HypervisorError('ALREADY_EXISTS', `image ${opts.imageId} already exists`);
      if (opts.snapshot === null && src.saved) throw new HypervisorError('INVALID_STATE', `guest ${sourceId} is suspended: resume it first, or use one of its snapshots`);
      if (opts.snapshot !== null && !src.snapshots.has(opts.snapshot)) throw new HypervisorError('NOT_FOUND', `guest ${sourceId} has no snapshot ${opts.snapshot}`);
      onProgress?.({ doneBytes: made.virtualSizeBytes, totalBytes: made.virtualSizeBytes });
      await sleep(this.transitionMs);
      const limits = { ...this.images[src.spec.image]!, minDiskGiB: src.spec.diskGiB };
      this.images[opts.imageId] = limits;
      this.captured.set(opts.imageId, { source: sourceId, limits });
      return made;
    });
  }

  async deleteImage(imageId: string): Promise<void> {
    if (!this.images[imageId]) return;
    if (!this.captured.has(imageId)) throw new HypervisorError('INVALID_STATE', `image ${imageId} was built, not captured: it is not deleted here`);
    const users = [...this.guests.entries()].filter(([, g]) => g.spec.image === imageId).map(([id]) => id);
    if (users.length) throw new HypervisorError('INVALID_STATE', `image ${imageId} is the disk of guest ${users.join(', ')}`);
    delete this.images[imageId];
    this.captured.delete(imageId);
  }

  private checkSpec(raw: GuestSpec): GuestSpec {
    const base = validateGuestSpec(raw);
    const image = this.images[base.image];
    if (!image) throw new HypervisorError('INVALID_SPEC', `image "${base.image}" is not in the catalog`);
    const spec = validateGuestSpec(base, image);
    delete spec.volumes; // a new guest (a clone too) has none: they are attached to it
    return spec;
  }

  /** The spec a guest was created with (as the QEMU driver's guest.json keeps it). */
  spec(id: string): GuestSpec {
    return this.get(id).spec;
  }

  async start(id: string): Promise<void> {
    await this.lock(id, async () => {
      const g = this.get(id);
      if (g.state !== 'stopped') throw new HypervisorError('INVALID_STATE', `guest ${id} is already running`);
      if (g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} has a saved state: restore it, or discard it to boot from its disk`);
      await sleep(this.transitionMs);
      g.state = 'running';
      g.pid = this.nextPid++;
      delete g.stats;
      const macs = g.spec.nics.map((n) => n.mac).join(',');
      g.serial = `CIRRUS-HW vcpus=${g.spec.vcpus} mem_kb=${g.spec.memoryMiB * 1024 - 56 * 1024} disk_bytes=${g.spec.diskGiB * 1024 ** 3} nics=${g.spec.nics.length} macs=${macs}\nCIRRUS-READY\n`;
      this.emit({ type: 'started', id, at: new Date() });
    });
  }

  async stop(id: string, _opts?: StopOptions): Promise<void> {
    await this.lock(id, async () => this.halt(id, 'guest-shutdown'));
  }

  async forceStop(id: string): Promise<void> {
    await this.lock(id, async () => this.halt(id, 'killed'));
  }

  async reboot(id: string): Promise<void> {
    await this.lock(id, async () => {
      this.running(id);
      await sleep(this.transitionMs);
      this.emit({ type: 'reset', id, at: new Date() });
    });
  }

  async pause(id: string): Promise<void> {
    await this.lock(id, async () => {
      this.running(id).state = 'paused';
      this.emit({ type: 'paused', id, at: new Date() });
    });
  }

  async resume(id: string): Promise<void> {
    await this.lock(id, async () => {
      this.running(id).state = 'running';
      this.emit({ type: 'resumed', id, at: new Date() });
    });
  }

  async saveState(id: string, onProgress?: (p: StateProgress) => void): Promise<SavedState> {
    return this.lock(id, async () => {
      const g = this.get(id);
      if (g.state === 'stopped') {
        if (g.saved) return g.saved;
        throw new HypervisorError('INVALID_STATE', `guest ${id} is not running`);
      }
      const total = g.spec.memoryMiB * 1024 * 1024;
      onProgress?.({ doneBytes: 0, totalBytes: total });
      await sleep(this.transitionMs);
      onProgress?.({ doneBytes: total, totalBytes: total });
      g.saved = { bytes: total + 512 * 1024, savedAt: new Date() };
      g.state = 'stopped';
      g.pid = null;
      this.emit({ type: 'stopped', id, at: new Date(), reason: 'saved' });
      return g.saved;
    });
  }

  async restoreState(id: string, onProgress?: (p: StateProgress) => void): Promise<void> {
    await this.lock(id, async () => {
      const g = this.get(id);
      if (g.state !== 'stopped') {
        g.state = 'running';
        g.saved = null;
        return;
      }
      if (!g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} has no saved state`);
      onProgress?.({ doneBytes: 0, totalBytes: g.saved.bytes });
      await sleep(this.transitionMs);
      onProgress?.({ doneBytes: g.saved.bytes, totalBytes: g.saved.bytes });
      g.state = 'running';
      g.pid = this.nextPid++;
      delete g.stats;
      g.saved = null;
      this.emit({ type: 'started', id, at: new Date() });
    });
  }

  async savedState(id: string): Promise<SavedState | null> {
    return this.get(id).saved;
  }

  async discardSavedState(id: string): Promise<void> {
    await this.lock(id, async () => {
      const g = this.get(id);
      if (g.state !== 'stopped') throw new HypervisorError('INVALID_STATE', `guest ${id} is running: its state is not saved`);
      g.saved = null;
    });
  }

  async createSnapshot(id: string, snap: { name: string; memory: boolean }, onProgress?: (p: StateProgress) => void): Promise<GuestSnapshot> {
    return this.lock(id, async () => {
      const g = this.get(id);
      const known = g.snapshots.get(snap.name);
      if (known) return known;
      const withVolumes = snap.memory ? volumesWhyNot(id, g.spec.volumes, 'take a snapshot with memory') : null;
      if (withVolumes) throw withVolumes;
      if (snap.memory && g.state === 'stopped') throw new HypervisorError('INVALID_STATE', `guest ${id} is not running: a snapshot with memory needs a running guest`);
      const stateBytes = snap.memory ? g.spec.memoryMiB * 1024 * 1024 : 0;
      onProgress?.({ doneBytes: stateBytes, totalBytes: stateBytes });
      await sleep(this.transitionMs);
      const s: GuestSnapshot = { name: snap.name, memory: snap.memory, diskBytes: 8 * 1024 * 1024, stateBytes, createdAt: new Date() };
      g.snapshots.set(snap.name, s);
      return s;
    });
  }

  async restoreSnapshot(id: string, name: string): Promise<'running' | 'stopped'> {
    return this.lock(id, async () => {
      const g = this.get(id);
      const s = g.snapshots.get(name);
      if (!s) throw new HypervisorError('NOT_FOUND', `guest ${id} has no snapshot ${name}`);
      const withVolumes = s.memory ? volumesWhyNot(id, g.spec.volumes, `restore snapshot ${name}, which has memory`) : null;
      if (withVolumes) throw withVolumes;
      if (g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it or discard its saved state first`);
      if (g.state !== 'stopped' && !s.memory) throw new HypervisorError('INVALID_STATE', `guest ${id} is running: a snapshot without memory is restored into a stopped guest`);
      await sleep(this.transitionMs);
      if (!s.memory) return 'stopped';
      g.state = 'running';
      g.pid = this.nextPid++;
      return 'running';
    });
  }

  async deleteSnapshot(id: string, name: string): Promise<void> {
    await this.lock(id, async () => {
      this.get(id).snapshots.delete(name);
    });
  }

  async listSnapshots(id: string): Promise<GuestSnapshot[]> {
    return [...this.get(id).snapshots.values()];
  }

  async attachVolume(id: string, raw: VolumeAttachment): Promise<void> {
    const want = validateVolumeAttachment(raw);
    await this.lock(id, async () => {
      const g = this.get(id);
      if (g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended: resume it, or discard its saved state, to attach a volume`);
      const plan = planAttach(id, g.spec.volumes ?? [], want, this.volumeHolder(id, want.id, want.source));
      if (plan.kind === 'new' && g.state !== 'stopped') await sleep(this.transitionMs);
      g.spec = { ...g.spec, volumes: plan.volumes };
    });
  }

  async detachVolume(id: string, volumeId: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    validateVolumeId(volumeId);
    await this.lock(id, async () => {
      const g = this.get(id);
      const volumes = g.spec.volumes ?? [];
      if (!volumes.some((v) => v.id === volumeId)) return;
      if (g.saved) throw new HypervisorError('INVALID_STATE', `guest ${id} is suspended with volume ${volumeId} in it: resume it to detach it, or discard its saved state`);
      if (g.state === 'paused') throw new HypervisorError('INVALID_STATE', `guest ${id} is paused: it lets go of volume ${volumeId} only while it runs`);
      if (g.state === 'running') {
        // The wait for the guest is simulated: transitionMs stands for it, whatever the timeout.
        await sleep(this.transitionMs);
        if (g.holdsVolumes) {
          const s = Math.round((opts.timeoutMs ?? 30_000) / 1000);
          throw new HypervisorError('INVALID_STATE', `guest ${id} did not let go of volume ${volumeId} within ${s} s (its OS must release the disk): it is still attached; detaching again finishes once it has`);
        }
      }
      g.spec = { ...g.spec, volumes: volumes.filter((v) => v.id !== volumeId) };
    });
  }

  async setVolumeLimits(id: string, volumeId: string, raw: VolumeLimits | null): Promise<void> {
    validateVolumeId(volumeId);
    const limits = validateVolumeLimits(raw);
    await this.lock(id, async () => {
      const g = this.get(id);
      const volumes = g.spec.volumes ?? [];
      if (!volumes.some((v) => v.id === volumeId)) throw new HypervisorError('NOT_FOUND', `guest ${id} has no volume ${volumeId} attached`);
      g.spec = { ...g.spec, volumes: volumes.map((v) => (v.id === volumeId ? { ...v, limits } : v)) };
    });
  }

  async listVolumes(id: string): Promise<VolumeAttachment[]> {
    return this.get(id).spec.volumes ?? [];
  }

  async exportDisk(sourceId: string, snapshot: string | null, rawTarget: BlockSource, onProgress?: (p: StateProgress) => void): Promise<void> {
    const target = validateBlockSource(rawTarget);
    if (target.format !== 'qcow2') throw new HypervisorError('INVALID_SPEC', `a disk is exported as qcow2, not ${target.format}`);
    await this.lock(sourceId, async () => {
      const src = this.get(sourceId);
      if (snapshot === null && src.saved) throw new HypervisorError('INVALID_STATE', `guest ${sourceId} is suspended: resume it first, or use one of its snapshots`);
      if (snapshot !== null && !src.snapshots.has(snapshot)) throw new HypervisorError('NOT_FOUND', `guest ${sourceId} has no snapshot ${snapshot}`);
      const holder = this.volumeHolder(null, null, target);
      if (holder) throw new HypervisorError('INVALID_STATE', `${target.path} is attached to guest ${holder}: detach it before writing over it`);
      const bytes = src.spec.diskGiB * 1024 ** 3;
      onProgress?.({ doneBytes: 0, totalBytes: bytes });
      await sleep(this.transitionMs);
      onProgress?.({ doneBytes: bytes, totalBytes: bytes });
      this.exports.set(target.path, { sourceId, snapshot, virtualSizeBytes: bytes });
    });
  }

  /** What exportDisk "wrote" to `path` (nothing real: this is the record of it). */
  exported(path: string): { sourceId: string; snapshot: string | null; virtualSizeBytes: number } | null {
    return this.exports.get(path) ?? null;
  }

  /** Simulate a guest whose OS does not let go of its volumes (detaching it times out), or (false) one that does again. */
  holdVolumes(id: string, hold = true): void {
    this.get(id).holdsVolumes = hold;
  }

  /** The guest (other than `except`) that has the volume or its source attached, if any. */
  private volumeHolder(except: string | null, volumeId: string | null, source: BlockSource): string | null {
    for (const [other, g] of this.guests) if (other !== except && (g.spec.volumes ?? []).some((v) => sharesVolume(v, volumeId, source.path))) return other;
    return null;
  }

  async destroy(id: string): Promise<void> {
    validateGuestId(id);
    await this.lock(id, async () => {
      if (!this.guests.has(id)) return;
      await this.halt(id, 'killed');
      this.guests.delete(id);
      if (this.shared?.guests.get(id)?.owner === this) this.shared.guests.delete(id);
    });
  }

  async status(id: string): Promise<GuestStatus> {
    const g = this.get(id);
    return { id, state: g.state, pid: g.pid };
  }

  async list(): Promise<GuestStatus[]> {
    return [...this.guests.keys()].sort().map((id) => {
      const g = this.guests.get(id) as FakeGuest;
      return { id, state: g.state, pid: g.pid };
    });
  }

  async console(id: string): Promise<ConsoleEndpoint> {
    this.get(id);
    return { vncSocket: `/nonexistent/fake/${id}/vnc.sock`, serialSocket: `/nonexistent/fake/${id}/serial.sock` };
  }

  async serialLog(id: string, maxBytes = 64 * 1024): Promise<string> {
    return this.get(id).serial.slice(-maxBytes);
  }

  async screenshot(id: string): Promise<Buffer> {
    this.running(id);
    // A 1×1 black PNG.
    return Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000a49444154789c636000000002000148afa4710000000049454e44ae426082', 'hex');
  }

  async stats(id: string): Promise<GuestStats> {
    const g = this.running(id);
    return { cpuTimeMs: 0, memoryMiB: g.spec.memoryMiB, residentMiB: 0, disks: [], nics: [], ...g.stats };
  }

  /** Set what a running guest's stats() say (cumulative counters, as a real guest's grow) until it next starts. */
  setStats(id: string, stats: Partial<GuestStats>): void {
    this.running(id).stats = structuredClone(stats);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** Simulate the guest's process dying outside Cirrus. */
  crash(id: string): void {
    const g = this.get(id);
    if (g.state === 'stopped') return;
    g.state = 'stopped';
    g.pid = null;
    this.emit({ type: 'stopped', id, at: new Date(), reason: 'crashed' });
  }

  private async halt(id: string, reason: StopReason): Promise<void> {
    const g = this.get(id);
    if (g.state === 'stopped') return;
    await sleep(this.transitionMs);
    g.state = 'stopped';
    g.pid = null;
    this.emit({ type: 'stopped', id, at: new Date(), reason });
  }

  private get(id: string): FakeGuest {
    const g = this.guests.get(validateGuestId(id));
    if (!g) throw new HypervisorError('NOT_FOUND', `guest ${id} does not exist`);
    return g;
  }

  private running(id: string): FakeGuest {
    const g = this.get(id);
    if (g.state === 'stopped') throw new HypervisorError('INVALID_STATE', `guest ${id} is not running`);
    return g;
  }

  private emit(e: GuestEvent): void {
    for (const l of this.listeners) l(e);
  }

  private lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.locks.get(id) ?? Promise.resolve()).then(fn, fn);
    this.locks.set(id, next.catch(() => undefined));
    return next;
  }
}
