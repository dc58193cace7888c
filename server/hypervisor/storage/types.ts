// Storage pools: where volumes live and how QEMU reaches them. A backend
// knows bytes and block devices, nothing of tenants, quotas or money. The
// directory pool (qcow2 files in a directory) is the one built; an LVM thin
// pool (BlockSource host_device) or Ceph RBD (QEMU's rbd driver) implements
// this same interface.
import type { BlockSource } from '../types';

/** `vol-` and 17 lower-case hex digits, like EC2's. */
export const VOLUME_ID_PATTERN = /^vol-[0-9a-f]{17}$/;

export type StoragePoolKind = 'directory';

/** A volume as its pool holds it. */
export interface PoolVolume {
  id: string;
  /** The size the guest sees. */
  sizeBytes: number;
  /** What it really takes in the pool (thin: grows as it is written). */
  allocatedBytes: number;
}

export interface StoragePoolBackend {
  readonly kind: StoragePoolKind;
  /** Where it keeps its volumes (a directory's path), for the admin's eyes. */
  readonly location: string;
  /** The backing store's size and its free space, bytes. */
  space(): Promise<{ totalBytes: number; freeBytes: number }>;
  /** Make a blank volume (thin). Idempotent: one of that id already there is returned as it is. */
  create(volumeId: string, sizeBytes: number): Promise<PoolVolume>;
  /** Grow a volume to `sizeBytes` (never shrinks: a smaller size is refused). */
  grow(volumeId: string, sizeBytes: number): Promise<PoolVolume>;
  /** null: no such volume. */
  info(volumeId: string): Promise<PoolVolume | null>;
  list(): Promise<PoolVolume[]>;
  /** Remove a volume and its data. Idempotent. */
  delete(volumeId: string): Promise<void>;
  /** How QEMU opens it (also where exportDisk writes a volume's first contents). */
  source(volumeId: string): BlockSource;
}
