// The directory pool: each volume a thin qcow2 file `<dir>/<volume-id>.qcow2`
// (it takes only what has been written). Ids are checked against
// VOLUME_ID_PATTERN before they become a path; a volume is made under a
// temporary name and linked into place, so a crash never leaves half a
// volume under its id; what a volume takes is its allocated blocks.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_QEMU_IMG, heldByQemu, imageInfo, resizeImage } from '../qemu/qemu-img';
import { errorText } from '../qemu/events';
import { HypervisorError, type BlockSource } from '../types';
import { validateVolumeId } from '../volumes';
import type { PoolVolume, StoragePoolBackend } from './types';

const run = promisify(execFile);

/** A volume's size: whole 512-byte sectors, at most 64 TiB. */
const MAX_VOLUME_BYTES = 64 * 1024 ** 4;
const PARTIAL = /^\.(vol-[0-9a-f]{17})\.qcow2\.[0-9a-f]+\.partial$/;
const FILE = /^(vol-[0-9a-f]{17})\.qcow2$/;

function validateSize(volumeId: string, bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0 || bytes > MAX_VOLUME_BYTES) {
    throw new HypervisorError('INVALID_SPEC', `volume ${volumeId}: a size is a whole number of 512-byte sectors up to 64 TiB, got ${bytes}`);
  }
  return bytes;
}

export class DirectoryPool implements StoragePoolBackend {
  readonly kind = 'directory' as const;
  readonly location: string;

  /** `dir`: an absolute path (made on first use); `qemuImg`: as the QEMU driver runs it. */
  constructor(dir: string, private readonly qemuImg: string = DEFAULT_QEMU_IMG) {
    if (typeof dir !== 'string' || !path.isAbsolute(dir) || dir.split('/').includes('..') || /[\u0000-\u001f\u007f]/.test(dir)) {
      throw new HypervisorError('INVALID_SPEC', `a directory pool needs an absolute path, got ${JSON.stringify(dir)}`);
    }
    this.location = path.resolve(dir);
  }

  async space(): Promise<{ totalBytes: number; freeBytes: number }> {
    this.ensureDir();
    const fs = statfsSync(this.location);
    return { totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize };
  }

  async create(volumeId: string, sizeBytes: number): Promise<PoolVolume> {
    const file = this.file(volumeId);
    validateSize(volumeId, sizeBytes);
    const existing = await this.info(volumeId);
    if (existing) return existing;
    this.ensureDir();
    const partial = path.join(this.location, `.${volumeId}.qcow2.${randomBytes(4).toString('hex')}.partial`);
    try {
      await run(this.qemuImg, ['create', '-q', '-f', 'qcow2', partial, String(sizeBytes)]);
      // A link, not a rename: a volume made meanwhile under this id (a racing create) is never replaced.
      linkSync(partial, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new HypervisorError('BACKEND_FAILED', `creating volume ${volumeId} in ${this.location} failed: ${errorText(e)}`);
    } finally {
      rmSync(partial, { force: true });
    }
    return (await this.info(volumeId))!;
  }

  async grow(volumeId: string, sizeBytes: number): Promise<PoolVolume> {
    const file = this.file(volumeId);
    validateSize(volumeId, sizeBytes);
    const now = await this.info(volumeId);
    if (!now) throw new HypervisorError('NOT_FOUND', `volume ${volumeId} is not in pool ${this.location}`);
    if (sizeBytes < now.sizeBytes) {
      throw new HypervisorError('INVALID_SPEC', `volume ${volumeId} is ${now.sizeBytes} bytes and a volume only grows (shrinking would cut off its data): asked for ${sizeBytes}`);
    }
    if (sizeBytes === now.sizeBytes) return now;
    if (await heldByQemu(this.qemuImg, file)) throw new HypervisorError('INVALID_STATE', `volume ${volumeId} is in use by a running guest: detach it (or stop the guest) to grow it`);
    try {
      await resizeImage(this.qemuImg, file, 'qcow2', sizeBytes);
    } catch (e) {
      throw new HypervisorError('BACKEND_FAILED', `growing volume ${volumeId} failed: ${errorText(e)}`);
    }
    return (await this.info(volumeId))!;
  }

  async info(volumeId: string): Promise<PoolVolume | null> {
    const file = this.file(volumeId);
    let blocks: number;
    try {
      blocks = statSync(file).blocks;
    } catch {
      return null;
    }
    try {
      const info = await imageInfo(this.qemuImg, file);
      return { id: volumeId, sizeBytes: info.virtualSizeBytes, allocatedBytes: blocks * 512 };
    } catch (e) {
      if (!existsSync(file)) return null; // deleted meanwhile
      throw new HypervisorError('BACKEND_FAILED', `reading volume ${volumeId} failed: ${errorText(e)}`);
    }
  }

  async list(): Promise<PoolVolume[]> {
    if (!existsSync(this.location)) return [];
    const ids = readdirSync(this.location).flatMap((f) => FILE.exec(f)?.[1] ?? []).sort();
    const volumes = await Promise.all(ids.map((id) => this.info(id)));
    return volumes.filter((v): v is PoolVolume => v !== null);
  }

  async delete(volumeId: string): Promise<void> {
    const file = this.file(volumeId);
    if (!existsSync(file)) return;
    // Unlinked under a running QEMU, the guest would go on writing to a file nobody can reach.
    if (await heldByQemu(this.qemuImg, file)) throw new HypervisorError('INVALID_STATE', `volume ${volumeId} is in use by a running guest: detach it first`);
    rmSync(file, { force: true });
    this.sweepPartials(volumeId);
  }

  source(volumeId: string): BlockSource {
    return { kind: 'file', path: this.file(volumeId), format: 'qcow2' };
  }

  /** The volume's file; the id is checked first, so nothing else becomes a path. */
  private file(volumeId: string): string {
    return path.join(this.location, `${validateVolumeId(volumeId)}.qcow2`);
  }

  private ensureDir(): void {
    mkdirSync(this.location, { recursive: true, mode: 0o700 });
  }

  /** Temporary files a create (or an export into it) of this volume left when it was cut short. */
  private sweepPartials(volumeId: string): void {
    if (!existsSync(this.location)) return;
    for (const f of readdirSync(this.location)) if (PARTIAL.exec(f)?.[1] === volumeId) rmSync(path.join(this.location, f), { force: true });
  }
}

export type StoragePoolConfig = { kind: 'directory'; path: string };

/** The backend for a pool as the database describes it (a storage_pools row's kind and path). */
export function openStoragePool(config: StoragePoolConfig, qemuImg: string = DEFAULT_QEMU_IMG): StoragePoolBackend {
  if (config.kind === 'directory') return new DirectoryPool(config.path, qemuImg);
  throw new HypervisorError('INVALID_SPEC', `unknown storage pool kind ${JSON.stringify((config as { kind: unknown }).kind)}`);
}
