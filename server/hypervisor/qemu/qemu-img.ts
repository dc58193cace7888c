// qemu-img for files that are not a guest's own disk chain: what a file is
// (its format and virtual size), whether a running QEMU holds it, and a
// flattened copy of a disk point written crash-safely. Shared by the QEMU
// driver and the storage pools (storage/directory.ts), which find qemu-img
// the same way: `DEFAULT_QEMU_IMG` on the PATH unless configured.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { HypervisorError, type StateProgress, type VolumeAttachment } from '../types';
import { convertFlat } from './clones';
import { errorText } from './events';

const run = promisify(execFile);

/** What the driver (`qemuImgBinary`) and the pools run when not told otherwise. */
export const DEFAULT_QEMU_IMG = 'qemu-img';

export interface ImageInfo {
  format: string;
  virtualSizeBytes: number;
}

/** A file's format and virtual size, read without taking a lock (a running QEMU may have it open). */
export async function imageInfo(qemuImg: string, file: string): Promise<ImageInfo> {
  const { stdout } = await run(qemuImg, ['info', '-U', '--output=json', file]);
  const info = JSON.parse(stdout) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSizeBytes: info['virtual-size'] };
}

/**
 * A qcow2 that came from elsewhere (another host's copy of a disk) is one
 * file and nothing more: read as qcow2 (never probed), with no backing file
 * and no external data file, which would make QEMU open paths its sender
 * chose, and of exactly `bytes`. Throws saying what is wrong.
 */
export async function checkStandaloneQcow2(qemuImg: string, file: string, bytes: number): Promise<void> {
  const { stdout } = await run(qemuImg, ['info', '-f', 'qcow2', '--output=json', file]);
  const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string; 'full-backing-filename'?: string; 'format-specific'?: { data?: { 'data-file'?: string } } };
  if (info.format !== 'qcow2') throw new Error(`it is ${info.format}, not qcow2`);
  if (info['backing-filename'] || info['full-backing-filename']) throw new Error('it names a backing file');
  if (info['format-specific']?.data?.['data-file']) throw new Error('it names an external data file');
  if (info['virtual-size'] !== bytes) throw new Error(`it holds ${info['virtual-size']} bytes, not ${bytes}`);
}

/** Whether a process (a running guest's QEMU) holds `file` open for writing: qemu-img then cannot take its lock. */
export async function heldByQemu(qemuImg: string, file: string): Promise<boolean> {
  try {
    await run(qemuImg, ['info', '--output=json', file]);
    return false;
  } catch (e) {
    return /lock/i.test(String((e as { stderr?: unknown }).stderr ?? e));
  }
}

/** Grow a file's virtual size to `bytes` (qemu-img refuses a file a QEMU holds). */
export async function resizeImage(qemuImg: string, file: string, format: string, bytes: number): Promise<void> {
  await run(qemuImg, ['resize', '-q', '-f', format, file, String(bytes)]);
}

/**
 * Write `point` (a frozen qcow2 and everything under it) as one standalone
 * qcow2 at `target` of virtual size `bytes` (a point frozen before its disk
 * grew is smaller), replacing what was there only once it is complete.
 */
export async function writeFlatCopy(qemuImg: string, point: string, target: string, bytes: number, onProgress?: (p: StateProgress) => void): Promise<void> {
  const partial = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await convertFlat(qemuImg, point, partial, bytes, onProgress);
    if ((await imageInfo(qemuImg, partial)).virtualSizeBytes < bytes) await resizeImage(qemuImg, partial, 'qcow2', bytes);
    renameSync(partial, target);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
}

/** A volume's source is there and is what it is said to be (INVALID_SPEC with qemu-img's reason otherwise). */
export async function checkVolumeSource(qemuImg: string, v: VolumeAttachment): Promise<void> {
  const info = await imageInfo(qemuImg, v.source.path).catch((e: unknown) => {
    const why = String((e as { stderr?: unknown }).stderr ?? '').trim() || errorText(e);
    throw new HypervisorError('INVALID_SPEC', `volume ${v.id}: ${v.source.path} cannot be opened: ${why}`);
  });
  if (info.format !== v.source.format) throw new HypervisorError('INVALID_SPEC', `volume ${v.id}: ${v.source.path} is ${info.format}, not ${v.source.format}`);
}
