// A guest's disk as a tree of qcow2 files: external snapshots. Taking a
// snapshot freezes the file the guest writes to (the "active" file) as the
// snapshot's, and puts a new empty overlay on top of it for the guest to go
// on writing; restoring one puts a new overlay on the snapshot's file; the
// image's base disk is the root every chain ends in. Files are never renamed
// under a running QEMU: what each snapshot's file is, and which file is
// active, are kept in `disks.json`, written atomically.
//
// Why external overlays (not qcow2-internal snapshots): a snapshot is then a
// file of its own — its bytes on disk are its cost, a linked clone is one more
// overlay on it, a custom image is the flattened file — and QEMU 7.2 takes and
// merges them online (blockdev-snapshot-sync, block-stream).
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { MachineShape } from './hotplug';
import { HypervisorError } from '../types';
import { readRecordFile, writeRecordFile } from './safe-files';

export interface SnapshotRecord {
  /** The frozen qcow2 file holding the disk as it was (its backing is its parent's file, or the base image). */
  file: string;
  /** The guest's saved running state taken with it (memory snapshots), or null. */
  stateFile: string | null;
  createdAt: string;
  /** With memory: the machine the state loads into (hotplug.ts). */
  machine?: MachineShape;
}

export interface DiskChain {
  /** The file the guest writes to now. */
  active: string;
  snapshots: Record<string, SnapshotRecord>;
  /**
   * Frozen files without a name that stay because something builds on them:
   * points frozen for clones, and snapshots deleted while a linked clone reads them.
   */
  retained?: string[];
  /** The overlay a switch in progress is making (written before QEMU is asked): what a crash mid-switch may leave active. */
  pending?: string;
}

const CHAIN_FILE = 'disks.json';

/** The chain of a guest whose disk never had a snapshot: its one overlay. */
export function readChain(dir: string, initialDisk: string): DiskChain {
  const file = path.join(dir, CHAIN_FILE);
  // Only the server's own file counts (the guest's user may write in this directory: safe-files.ts).
  if (!existsSync(file)) return { active: initialDisk, snapshots: {} };
  return JSON.parse(readRecordFile(file)) as DiskChain;
}

export function writeChain(dir: string, chain: DiskChain): void {
  writeRecordFile(path.join(dir, CHAIN_FILE), JSON.stringify(chain, null, 2) + '\n');
}

/** A new, unused file name for an overlay in the guest's directory. */
export function newOverlayPath(dir: string): string {
  return path.join(dir, `disk-${randomBytes(6).toString('hex')}.qcow2`);
}

/** Where a snapshot's memory state goes. */
export function snapshotStatePath(dir: string, name: string): string {
  return path.join(dir, `snapshot-${name}.state`);
}

/** Bytes a file really takes on disk (allocated blocks, not its apparent size). */
export function allocatedBytes(file: string): number {
  try {
    return statSync(file).blocks * 512;
  } catch {
    return 0;
  }
}

/**
 * The files whose backing file is `file`, given each file's backing (from
 * `qemu-img info`): what has to absorb a snapshot's data before it goes.
 */
export function childrenOf(file: string, backingOf: Map<string, string | null>): string[] {
  return [...backingOf.entries()].filter(([, b]) => b === file).map(([f]) => f);
}

/** Record the overlay a switch is about to make, before QEMU makes it: the one file a crash mid-switch may leave active. */
export function pendSwitch(dir: string, chain: DiskChain, next: string): void {
  chain.pending = next;
  writeChain(dir, chain);
}

/**
 * The file QEMU says it writes to, when that is not the recorded active one:
 * accepted only if it is the switch the server recorded before asking for it.
 * A path QEMU makes up (a guest that escaped into it can say anything) is refused,
 * never given an owner or a mode, never removed.
 */
export function switchedTo(id: string, chain: DiskChain, inQemu: string): string {
  if (chain.pending && inQemu === chain.pending) return inQemu;
  throw new HypervisorError('BACKEND_FAILED', `QEMU of guest ${id} writes to a disk file Cirrus did not give it (${path.basename(inQemu)}): refusing to take it as the guest's disk`);
}
