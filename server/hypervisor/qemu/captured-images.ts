// Images captured from a guest's disk: a directory in the catalog's second
// root (`capturedDir/<id>/`) like a built image's — its own flattened
// disk.qcow2, the source image's kernel and initramfs (hard links, else
// copies), and image.json written from the source image's manifest, so it
// boots the same way (command line, login user, features). It is made in a
// temporary directory and renamed into place whole: a half-made image is
// never in the catalog.
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_ID_PATTERN, IMAGE_MANIFEST, imageFootprint, type GuestImage, type ImageManifest } from '../images/catalog';
import { HypervisorError } from '../types';
import type { CapturedImage, StateProgress } from '../types';
import { convertFlat } from './clones';

const DISK = 'disk.qcow2';
const TMP_PREFIX = '.capturing-';

export function validateImageId(id: string): string {
  if (typeof id !== 'string' || !IMAGE_ID_PATTERN.test(id)) throw new HypervisorError('INVALID_SPEC', 'an image id is lower-case letters, digits and dashes (at most 64)');
  return id;
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to); // another filesystem
  }
}

/**
 * Write image `id` into `capturedDir` from the frozen disk file `point` of
 * `guest` (booted from `base`), reporting the copy's progress.
 */
export async function writeCapturedImage(
  qemuImg: string,
  capturedDir: string,
  a: { id: string; name: string; guest: string; snapshot: string | null; point: string; base: GuestImage; diskBytes: number },
  onProgress?: (p: StateProgress) => void,
): Promise<void> {
  // Guests booted from it run as users of their own: they pass through these directories (never list them) and read its files.
  mkdirSync(capturedDir, { recursive: true, mode: 0o711 });
  const work = path.join(capturedDir, `${TMP_PREFIX}${a.id}`);
  rmSync(work, { recursive: true, force: true }); // an earlier attempt cut short
  mkdirSync(work, { mode: 0o711 });
  chmodSync(work, 0o711); // whatever the umask
  try {
    await convertFlat(qemuImg, a.point, path.join(work, DISK), a.diskBytes, onProgress);
    chmodSync(path.join(work, DISK), 0o644);
    const kernel = path.basename(a.base.kernelPath);
    const initrd = path.basename(a.base.initrdPath);
    linkOrCopy(a.base.kernelPath, path.join(work, kernel));
    linkOrCopy(a.base.initrdPath, path.join(work, initrd));
    const manifest: ImageManifest = {
      id: a.id,
      name: a.name,
      kernel,
      initrd,
      disk: DISK,
      cmdline: a.base.cmdline,
      minMemoryMiB: a.base.minMemoryMiB,
      minDiskGiB: Math.max(1, Math.ceil(a.diskBytes / 1024 ** 3)),
      source: `Captured from ${a.guest}${a.snapshot ? ` (snapshot ${a.snapshot})` : ''}, a guest of ${a.base.name}.`,
      builtAt: new Date().toISOString(),
      osFamily: a.base.osFamily,
      osVersion: a.base.osVersion,
      loginUser: a.base.loginUser,
      architecture: a.base.architecture,
      minVcpus: a.base.minVcpus,
      features: a.base.features,
      capturedFrom: { guest: a.guest, snapshot: a.snapshot, image: a.base.id },
    };
    writeFileSync(path.join(work, IMAGE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    renameSync(work, path.join(capturedDir, a.id));
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

export function capturedFootprint(image: GuestImage): CapturedImage {
  return { id: image.id, ...imageFootprint(image) };
}

/** Directories of captures a crash cut short: nothing refers to them. */
export function sweepUnfinishedCaptures(capturedDir: string): void {
  if (!existsSync(capturedDir)) return;
  for (const name of readdirSync(capturedDir)) if (name.startsWith(TMP_PREFIX)) rmSync(path.join(capturedDir, name), { recursive: true, force: true });
}
