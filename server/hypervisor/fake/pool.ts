// An in-memory storage pool for tests of code above the pool (volumes'
// requests, jobs and ledger): it keeps sizes, no bytes. Like the directory
// pool it checks ids and sizes, and `external` lets a volume the fake
// driver's exportDisk "wrote" count as there (its virtual size, or null).
import { HypervisorError, type BlockSource } from '../types';
import { validateVolumeId } from '../volumes';
import type { PoolVolume, StoragePoolBackend } from '../storage/types';

export class MemoryPool implements StoragePoolBackend {
  readonly kind = 'directory' as const;
  private readonly volumes = new Map<string, PoolVolume>();
  /** Deleted: what an export once wrote there is gone too. */
  private readonly deleted = new Set<string>();

  constructor(
    readonly location = '/memory-pool',
    private readonly totalBytes = 1024 ** 5,
    private readonly external: (path: string) => number | null = () => null,
  ) {}

  async space() {
    const used = [...this.volumes.values()].reduce((n, v) => n + v.allocatedBytes, 0);
    return { totalBytes: this.totalBytes, freeBytes: this.totalBytes - used };
  }

  async create(volumeId: string, sizeBytes: number): Promise<PoolVolume> {
    const existing = await this.info(volumeId);
    if (existing) return existing;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512 !== 0) throw new HypervisorError('INVALID_SPEC', `volume ${volumeId}: bad size ${sizeBytes}`);
    const v = { id: volumeId, sizeBytes, allocatedBytes: 0 };
    this.deleted.delete(volumeId);
    this.volumes.set(volumeId, v);
    return { ...v };
  }

  async grow(volumeId: string, sizeBytes: number): Promise<PoolVolume> {
    const v = await this.info(volumeId);
    if (!v) throw new HypervisorError('NOT_FOUND', `no volume ${volumeId} in this pool`);
    if (sizeBytes < v.sizeBytes) throw new HypervisorError('INVALID_SPEC', `volume ${volumeId} is ${v.sizeBytes} bytes: a volume never shrinks`);
    const grown = { ...v, sizeBytes };
    this.volumes.set(volumeId, grown);
    return { ...grown };
  }

  async info(volumeId: string): Promise<PoolVolume | null> {
    const v = this.volumes.get(validateVolumeId(volumeId));
    if (v) return { ...v };
    if (this.deleted.has(volumeId)) return null;
    const exported = this.external(this.source(volumeId).path);
    if (exported === null) return null;
    const adopted = { id: volumeId, sizeBytes: exported, allocatedBytes: exported };
    this.volumes.set(volumeId, adopted);
    return { ...adopted };
  }

  async list(): Promise<PoolVolume[]> {
    return [...this.volumes.values()].map((v) => ({ ...v })).sort((a, b) => a.id.localeCompare(b.id));
  }

  async delete(volumeId: string): Promise<void> {
    this.volumes.delete(validateVolumeId(volumeId));
    this.deleted.add(volumeId);
  }

  source(volumeId: string): BlockSource {
    return { kind: 'file', path: `${this.location}/${validateVolumeId(volumeId)}.qcow2`, format: 'qcow2' };
  }

  /** Pretend the guest wrote this much (thin volumes grow as they are written). */
  write(volumeId: string, bytes: number): void {
    const v = this.volumes.get(volumeId);
    if (v) v.allocatedBytes = Math.min(v.sizeBytes, v.allocatedBytes + bytes);
  }
}
