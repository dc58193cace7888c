// The boundary between Cirrus and whatever runs guests. Every backend
// (server/hypervisor/<backend>/) implements HypervisorDriver; nothing
// backend-specific appears here. A driver knows hosts, guests and consoles,
// nothing of tenants, quotas or money.

export type Acceleration = 'kvm' | 'tcg';

export interface HostInfo {
  cpus: number;
  memoryMiB: number;
  /** Free space where guest disks live. */
  freeDiskGiB: number;
  acceleration: Acceleration;
  /** Backend name and version, e.g. "qemu 7.2.22". */
  hypervisor: string;
  /** What keeps guests apart on this host, and what does not (null: the backend runs no guest processes). */
  isolation: HostIsolation | null;
}

/** What a host enforces to keep guests apart and in their share, and what it cannot (the admin hosts page shows it). */
export interface HostIsolation {
  user: { enforced: boolean; detail: string };
  cgroups: { enforced: boolean; detail: string; controllers: string[] };
  seccomp: { enforced: boolean; detail: string };
  acceleration: Acceleration;
  /** What Cirrus keeps set on the host for it (modes of its own directories, /dev/net/tun). */
  changes: string[];
  /** What is not enforced here, each with its reason. */
  missing: string[];
}

/** One NIC: its MAC, and where it plugs in. */
export interface NicSpec {
  /** Locally administered unicast, lower case (e.g. from macAddress()). */
  mac: string;
  /**
   * The host tap it is wired to (QEMU creates it; the host network bridges and
   * shapes it), named by server/hypervisor/net; null: QEMU user-mode networking
   * (a host that cannot build tenant networks).
   */
  tap: string | null;
}

/** What a guest is made of; validated by validateGuestSpec before any side effect. */
export interface GuestSpec {
  /** Stable id, `^[a-z0-9][a-z0-9-]{0,62}$`; names the run directory and derives MACs. */
  id: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** In order: eth0, eth1, … (a number is accepted from older guest records: that many user-mode NICs). */
  nics: NicSpec[];
  /** Image id from the catalog, e.g. "cirrus-tiny-linux". */
  image: string;
  /**
   * How far vCPUs and memory can be hot-added while it runs (the machine is
   * made with that room: `maxcpus`, memory slots and `maxmem`); absent: as
   * many as it has. Raised only while it is stopped.
   */
  maxVcpus?: number;
  maxMemoryMiB?: number;
  /**
   * What cloud-init is told (images with cloud-init get it as a NoCloud seed;
   * others ignore it). Its instance id is the guest's id, so a clone, being a
   * new guest, personalises itself again.
   */
  cloudInit?: CloudInitSpec | null;
  /**
   * Block volumes from a storage pool, in the order they were attached
   * (attachVolume/detachVolume keep this; a cold boot and a saved state's
   * machine plug them the same way). create and clone ignore it: a new guest
   * has none until they are attached.
   */
  volumes?: VolumeAttachment[];
}

/** How QEMU opens a block device a storage pool holds (a directory pool's are qcow2 files). */
export type BlockSource = { kind: 'file'; path: string; format: 'qcow2' | 'raw' };

/** A volume's I/O ceiling (QEMU throttling of the device): operations and bytes per second, reads and writes together; 0: no ceiling on that. */
export interface VolumeLimits {
  iops: number;
  bytesPerSecond: number;
}

/** A volume as a guest has it: a virtio disk on its own PCI slot. */
export interface VolumeAttachment {
  /** `VOLUME_ID_PATTERN` (`vol-` and 17 hex digits); the guest sees it as serial `vol<17 hex>` (/dev/disk/by-id/virtio-vol…). */
  id: string;
  source: BlockSource;
  /** null: not throttled. */
  limits: VolumeLimits | null;
  /** The PCI slot it is on, 0x18–0x1f (chosen by the driver at attach, lowest free; kept so a saved state's machine matches). Ignored in a request. */
  slot?: number;
}

export interface CloudInitSpec {
  /** An RFC 1123 host name label (`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`). */
  hostname: string;
  /** OpenSSH public key lines put on the image's login user. */
  sshKeys: string[];
  /** Cloud-config or a script, at most 16 KiB of UTF-8; null: none. */
  userData: string | null;
  /** Each NIC's fixed IPv4 address, in NIC order (null: none known), for the metadata. */
  addresses: (string | null)[];
}

export type GuestState = 'running' | 'paused' | 'stopped';

export interface GuestStatus {
  id: string;
  state: GuestState;
  /** Host process id while it runs. */
  pid: number | null;
}

/** `saved`: its running state was written to a file (saveState) and QEMU let go. */
export type StopReason = 'guest-shutdown' | 'crashed' | 'killed' | 'saved';

export type GuestEvent =
  | { type: 'started'; id: string; at: Date }
  | { type: 'stopped'; id: string; at: Date; reason: StopReason }
  | { type: 'paused'; id: string; at: Date }
  | { type: 'resumed'; id: string; at: Date }
  | { type: 'reset'; id: string; at: Date };

export type GuestEventListener = (event: GuestEvent) => void;

export interface GuestStats {
  /** Host CPU time used by the guest (all vCPUs and device emulation), ms. */
  cpuTimeMs: number;
  /** Memory given to the guest, and what the host process really holds. */
  memoryMiB: number;
  residentMiB: number;
  disks: { device: string; readBytes: number; writeBytes: number; readOps: number; writeOps: number }[];
  /** Per-NIC counters from the host's side, in the guest's terms (rx: what it received); null where the backend cannot see them (user-mode NICs). */
  nics: { mac: string; rxBytes: number | null; txBytes: number | null }[];
}

/** What the guest OS says about itself through its agent. */
export interface GuestInfo {
  /** e.g. "Debian GNU/Linux 12 (bookworm)". */
  osName: string | null;
  kernel: string | null;
  hostname: string | null;
  /** Its interfaces other than loopback, as the guest sees them. */
  interfaces: { name: string; mac: string | null; ipv4: string[]; ipv6: string[] }[];
}

export interface ConsoleEndpoint {
  /** A Unix socket speaking RFB (VNC) to the guest's screen. */
  vncSocket: string;
  /** A Unix socket wired to the guest's first serial port (one client at a time). */
  serialSocket: string;
}

/** A guest's running state (RAM and devices) kept in a file while no process runs it. */
export interface SavedState {
  bytes: number;
  savedAt: Date;
}

/** How far a save or restore is: bytes of guest RAM done, of the total. */
export interface StateProgress {
  doneBytes: number;
  totalBytes: number;
}

/** A point in time of a guest's disk (and, with memory, its running state). */
export interface GuestSnapshot {
  /** `^[a-z0-9][a-z0-9-]{0,62}$`, chosen by the caller. */
  name: string;
  memory: boolean;
  /** Bytes its disk file really takes (allocated, not apparent). */
  diskBytes: number;
  /** Bytes of its memory state file (0 without memory). */
  stateBytes: number;
  createdAt: Date;
}

export interface CloneOptions {
  /** A snapshot of the source to clone, or null for its disk now. */
  snapshot: string | null;
  linked: boolean;
}

export interface CaptureOptions {
  /** A snapshot of the source to make the image of, or null for its disk now. */
  snapshot: string | null;
  /** The new image's catalog id (`IMAGE_ID_PATTERN`, not taken) and its name. */
  imageId: string;
  name: string;
}

export interface CapturedImage {
  id: string;
  /** Bytes its files take on the host. */
  sizeBytes: number;
  /** Its disk's virtual size: guests launched from it get no smaller a disk. */
  virtualSizeBytes: number;
}

/** A new size; what is left out stays. */
export interface ResizeRequest {
  vcpus?: number;
  memoryMiB?: number;
  /** Grow only. */
  diskGiB?: number;
  /** Stopped only: the room for hot-adding later. */
  maxVcpus?: number;
  maxMemoryMiB?: number;
  /** Stopped only: its NICs from now on (those it keeps first, in order). */
  nics?: NicSpec[];
}

export interface StopOptions {
  /** How long to wait for the guest to power off after ACPI before forcing. */
  timeoutMs?: number;
}

export interface HypervisorDriver {
  readonly name: string;
  hostInfo(): Promise<HostInfo>;

  /**
   * Prepare a stopped guest (disk overlay etc.). Refuses invalid specs before
   * touching anything. `shared`: everything of it goes on the shared pool
   * (sharedPool()), where another host can take it over (adoptShared).
   */
  create(spec: GuestSpec, opts?: { shared?: boolean }): Promise<void>;
  start(id: string): Promise<void>;
  /** ACPI power button, then a forced stop after the timeout. */
  stop(id: string, opts?: StopOptions): Promise<void>;
  forceStop(id: string): Promise<void>;
  reboot(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /**
   * Suspend to disk: pause the guest, write its RAM and device state to a
   * file, and end its process. Idempotent: a save already under way (or done
   * but not yet acknowledged) is waited for, not started twice.
   */
  saveState(id: string, onProgress?: (p: StateProgress) => void): Promise<SavedState>;
  /**
   * Bring a saved guest back: the same machine, its state loaded, running
   * from where it was (not a reboot); the state file is then removed.
   * Idempotent: a guest already restored is left running.
   */
  restoreState(id: string, onProgress?: (p: StateProgress) => void): Promise<void>;
  /** The guest's complete saved state, if it has one (a save cut short leaves none). */
  savedState(id: string): Promise<SavedState | null>;
  /** Forget a saved state (the guest then starts from its disk, as after a power cut). */
  discardSavedState(id: string): Promise<void>;
  /**
   * Snapshot the guest's disk, running or stopped (consistent through the
   * guest agent's filesystem freeze where the image has one), or with
   * `memory` its running state too (the guest is paused while it is taken).
   * Idempotent by name. A memory snapshot cut short by a crash comes back as
   * a disk-only one (memory false), never as a half one. Only the root disk
   * is in a snapshot, never a volume: one with memory is refused
   * (INVALID_STATE) while the guest has volumes attached.
   */
  createSnapshot(id: string, snap: { name: string; memory: boolean }, onProgress?: (p: StateProgress) => void): Promise<GuestSnapshot>;
  /**
   * Put the guest back to a snapshot: a disk-only one into a stopped guest; a
   * memory one comes back running exactly where it was taken (a running guest
   * is replaced; refused while it has volumes attached). Returns what the
   * guest is now.
   */
  restoreSnapshot(id: string, name: string, onProgress?: (p: StateProgress) => void): Promise<'running' | 'stopped'>;
  /** Remove a snapshot; the snapshots and disk that build on it keep their data (merged into them). Idempotent. */
  deleteSnapshot(id: string, name: string, onProgress?: (p: StateProgress) => void): Promise<void>;
  listSnapshots(id: string): Promise<GuestSnapshot[]>;
  /**
   * Make a new stopped guest (`spec`, its own id, MACs and seed) whose disk is
   * a copy of `sourceId`'s: of its snapshot `opts.snapshot`, or (null) of its
   * disk now, frozen for the instant as for a disk-only snapshot. Linked: an
   * overlay on that point, made at once, which keeps the point's files for as
   * long as the clone lives (even past its source); full: a standalone copy.
   * A clone boots from that disk; no memory comes with it.
   */
  clone(sourceId: string, spec: GuestSpec, opts: CloneOptions, onProgress?: (p: StateProgress) => void): Promise<void>;
  /**
   * Make a new image in the catalog from `sourceId`'s disk (its snapshot, or
   * its disk now, frozen as for a clone): one flattened, standalone disk,
   * booted like the source's image (its kernel, command line and features).
   * Idempotent by image id: an image already made is returned as it is.
   */
  captureImage(sourceId: string, opts: CaptureOptions, onProgress?: (p: StateProgress) => void): Promise<CapturedImage>;
  /** Remove a captured image (never a built one); refused while a guest's disk is on it. Idempotent. */
  deleteImage(imageId: string): Promise<void>;
  /**
   * Change its size. Stopped (no saved state): vCPUs and memory to any size,
   * the room for hot-adding, and the disk (grown). Running: vCPUs and memory
   * hot-added up to its room (never fewer: the guest is not asked to give them
   * back), and the disk grown online; the guest onlines what is added where
   * its image does. Idempotent: a size it already has is no change. Returns
   * the spec it now has.
   */
  resize(id: string, to: ResizeRequest): Promise<GuestSpec>;
  /**
   * Attach a volume: hot-plugged into a running guest (a virtio disk appears
   * in it; no reboot), or recorded for the next boot of a stopped one.
   * Refused (INVALID_STATE) while the guest has a saved state or when it has
   * MAX_VOLUMES already; a source another guest of this host has attached is
   * refused too, and (INVALID_SPEC) a source that is missing or not in its
   * format. Idempotent by volume id (limits are then set as given).
   */
  attachVolume(id: string, volume: VolumeAttachment): Promise<void>;
  /**
   * Detach: a running guest is asked to let go of the device (ACPI unplug)
   * and waited for up to `timeoutMs`, default 30 s (INVALID_STATE, still
   * attached, when it does not: the request stands, and a later detach
   * finishes once it has); a stopped one's record forgets it. Refused
   * (INVALID_STATE) while paused or suspended (its saved machine has the
   * device). Idempotent.
   */
  detachVolume(id: string, volumeId: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Change an attached volume's I/O ceiling (live while it runs; a suspended guest resumes with it). NOT_FOUND when not attached. */
  setVolumeLimits(id: string, volumeId: string, limits: VolumeLimits | null): Promise<void>;
  /** The volumes the guest has attached. */
  listVolumes(id: string): Promise<VolumeAttachment[]>;
  /**
   * Write a standalone copy (flattened, of the guest's virtual disk size) of
   * the guest's snapshot `snapshot`, or (null) of its disk now frozen as for a
   * clone, to `target` (overwritten once the copy is complete): the contents
   * of a volume made from it (grow it with the pool afterwards for a larger
   * volume). qcow2 targets only; one a guest has attached is refused.
   */
  exportDisk(sourceId: string, snapshot: string | null, target: BlockSource, onProgress?: (p: StateProgress) => void): Promise<void>;
  /** Stop if needed, then remove every trace of the guest (but the files its linked clones read). Idempotent. */
  destroy(id: string): Promise<void>;

  status(id: string): Promise<GuestStatus>;
  /** Guests this driver finds on the host (for re-adoption after a restart). */
  list(): Promise<GuestStatus[]>;
  onEvent(listener: GuestEventListener): () => void;

  console(id: string): Promise<ConsoleEndpoint>;
  /** The last `maxBytes` of the guest's serial output since it last started. */
  serialLog(id: string, maxBytes?: number): Promise<string>;
  screenshot(id: string): Promise<Buffer>;
  stats(id: string): Promise<GuestStats>;

  /**
   * The guest OS's own view through its agent; null when the image has no
   * agent or it does not answer (still booting, or stopped by the tenant).
   */
  guestInfo?(id: string): Promise<GuestInfo | null>;
  /**
   * Flush and freeze the guest's filesystems (for a consistent disk snapshot),
   * and thaw them; the number of filesystems. INVALID_STATE without an agent.
   */
  freezeFilesystems?(id: string): Promise<number>;
  thawFilesystems?(id: string): Promise<number>;

  /**
   * Re-create the taps of a running guest that were removed under it (by hand,
   * or a network reset), wired to the same QEMU; returns the taps restored.
   * Backends without taps have nothing to restore.
   */
  restoreTaps?(id: string): Promise<string[]>;

  // Live migration between hosts (qemu/live-migration.ts says how). Source and
  // target are two drivers on two hosts; whoever runs the move carries the
  // streams between them (the node channel).
  /** Source: what the target must make to receive the guest (its spec, its machine as it runs now, its disk's size). */
  migrationSource?(id: string): Promise<IncomingGuest>;
  /**
   * Target: make the guest with a blank disk of that size and start its QEMU
   * waiting for the running state and serving the disk to the source's mirror.
   */
  prepareIncoming?(guest: IncomingGuest): Promise<void>;
  /** Target: the Unix sockets the source's two streams go to on this host. */
  incomingEndpoints?(id: string): Promise<{ disk: string; state: string }>;
  /** Target, once the source is done: stop serving the disk and let the guest run. Idempotent. */
  finishIncoming?(id: string): Promise<void>;
  /**
   * Source: mirror the disk and migrate the running state through the streams
   * `open` makes; resolves with the guest stopped here, nothing left to send,
   * and the target holding all of it. On failure the guest runs here as before.
   */
  migrateOut?(
    id: string,
    open: (kind: 'disk' | 'state') => Promise<import('node:stream').Duplex>,
    onProgress?: (p: MigrationProgress) => void,
    /** Aborted: the move is cancelled (until the guest has stopped for the switch); it runs here as before. */
    signal?: AbortSignal,
  ): Promise<MigrationReport>;
  /** Source, after a move that did not finish: drop what it set up and let the guest run here again. */
  abortMigrationOut?(id: string): Promise<void>;
  /** A stopped guest's move (cold): its disk as one standalone qcow2 file (the caller sends it, then removes it), and what the target makes of it. */
  exportForMove?(id: string): Promise<{ guest: IncomingGuest; file: string }>;
  /** Target of a cold move: the guest made, stopped, from `disk` (a standalone qcow2, checked before anything opens it). */
  receiveGuest?(guest: IncomingGuest, disk: NodeJS.ReadableStream): Promise<void>;

  // A shared pool (storage every host of a cluster reaches at the same path:
  // NFS, CephFS, a cluster filesystem) holds guests a down host's could be
  // restarted from on another. Each guest there is owned by one host at a time.
  /** The shared pool this host reaches (its id, the same on every host that mounts it), or null. */
  sharedPool?(): { id: string; dir: string } | null;
  /** Whether the shared pool holds guest `id` (whichever host owns it). */
  hasSharedGuest?(id: string): Promise<boolean>;
  /**
   * Take over a guest on the shared pool, stopped, as this host's: the host
   * that owned it is down and fenced (the caller's word: nothing here can see
   * another machine's processes). From now on only this host lists it.
   * `nics`: its NICs as this host wires them (taps are named per host).
   */
  adoptShared?(id: string, opts?: { nics?: NicSpec[] }): Promise<void>;

  /** Let go of connections and timers; guests keep running. */
  close(): Promise<void>;
}

/** What a target needs to receive a guest: its spec, the machine it runs as now (hot-added CPUs and memory), its disk's virtual size. */
export interface IncomingGuest {
  spec: GuestSpec;
  machine: import('./machine').MachineShape;
  diskBytes: number;
}

/** A move under way: which part, and how far. */
export interface MigrationProgress {
  phase: 'disk' | 'memory';
  doneBytes: number;
  totalBytes: number;
}

export interface MigrationReport {
  /** How long the guest was stopped on the source before the move was complete (QEMU's own measure). */
  downtimeMs: number;
  /** Bytes carried: the disk's and the running state's. */
  diskBytes: number;
  stateBytes: number;
}

export type HypervisorErrorCode = 'INVALID_SPEC' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'INVALID_STATE' | 'BACKEND_FAILED';

export class HypervisorError extends Error {
  constructor(
    readonly code: HypervisorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HypervisorError';
  }
}

/**
 * Whether `err` is a HypervisorError (with this code). Checks the name, not
 * the class: Next bundles its own copy of this module for route handlers, and
 * the driver they reach through globalThis throws the custom server's copy.
 */
export function isHypervisorError(err: unknown, code?: HypervisorErrorCode): err is HypervisorError {
  return err instanceof Error && err.name === 'HypervisorError' && (code === undefined || (err as HypervisorError).code === code);
}
