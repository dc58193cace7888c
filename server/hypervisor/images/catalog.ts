import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { dataPath } from '../../config/paths';

// 1. What an image is -------------------------------------------------------
//
// An image is a directory `<imagesDir>/<id>/` holding a kernel, an initramfs,
// a base qcow2 disk (guests get copy-on-write overlays of it) and
// `image.json`, written last by the builder so a half-built image never shows.

export const DEFAULT_IMAGE_ID = 'cirrus-tiny-linux';
export const IMAGE_MANIFEST = 'image.json';
export const IMAGE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface ImageManifest {
  id: string;
  name: string;
  /** Relative file names inside the image directory. */
  kernel: string;
  initrd: string;
  disk: string;
  /** Kernel command line. */
  cmdline: string;
  minMemoryMiB: number;
  minDiskGiB: number;
  /** Free text: where the parts came from (e.g. Debian package versions). */
  source: string;
  builtAt: string;
  /** The builder's version of the recipe, to rebuild stale images. */
  buildVersion?: number;
  /** A hash of everything the recipe builds from (Debian images), to rebuild stale ones. */
  recipeHash?: string;
  /** What it is: e.g. "debian" and "12"; "linux" and "" when unsaid. */
  osFamily?: string;
  osVersion?: string;
  /** The user cloud-init creates and puts the instance's key on (e.g. "debian"); none for images without SSH. */
  loginUser?: string | null;
  architecture?: string;
  minVcpus?: number;
  features?: ImageFeatures;
  /** A tenant's image, captured from an instance's disk (server/hypervisor/qemu/captured-images.ts): where it came from. */
  capturedFrom?: { guest: string; snapshot: string | null; image: string };
}

/** What the guest inside does with what the driver gives it. */
export interface ImageFeatures {
  /** Reads a NoCloud seed (user data, metadata, the key): the driver attaches one. */
  cloudInit: boolean;
  /** Runs qemu-guest-agent on the virtio-serial port org.qemu.guest_agent.0. */
  guestAgent: boolean;
  /** Onlines hot-added CPUs and memory by itself (udev rules). */
  hotplug: boolean;
}

export const NO_FEATURES: ImageFeatures = { cloudInit: false, guestAgent: false, hotplug: false };

export interface GuestImage extends ImageManifest {
  osFamily: string;
  osVersion: string;
  loginUser: string | null;
  architecture: string;
  minVcpus: number;
  features: ImageFeatures;
  /** Captured from a guest (in the catalog's second directory), not built. */
  captured: boolean;
  dir: string;
  kernelPath: string;
  initrdPath: string;
  diskPath: string;
}

export function defaultImagesDir(): string {
  return dataPath('images');
}

// 2. Reading the catalog ----------------------------------------------------

function parseManifest(dir: string, raw: unknown, captured: boolean): GuestImage {
  const m = raw as Partial<ImageManifest>;
  const str = (k: keyof ImageManifest) => {
    const v = m[k];
    if (typeof v !== 'string' || v.length === 0) throw new Error(`image manifest in ${dir}: "${k}" missing`);
    return v;
  };
  const num = (k: keyof ImageManifest) => {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`image manifest in ${dir}: "${k}" missing`);
    return v;
  };
  const file = (k: 'kernel' | 'initrd' | 'disk') => {
    const name = str(k);
    if (name !== path.basename(name)) throw new Error(`image manifest in ${dir}: "${k}" must be a plain file name`);
    return name;
  };
  const manifest = {
    id: str('id'),
    name: str('name'),
    kernel: file('kernel'),
    initrd: file('initrd'),
    disk: file('disk'),
    cmdline: str('cmdline'),
    minMemoryMiB: num('minMemoryMiB'),
    minDiskGiB: num('minDiskGiB'),
    source: typeof m.source === 'string' ? m.source : '',
    builtAt: typeof m.builtAt === 'string' ? m.builtAt : '',
    buildVersion: typeof m.buildVersion === 'number' ? m.buildVersion : 0,
    recipeHash: typeof m.recipeHash === 'string' ? m.recipeHash : '',
    osFamily: typeof m.osFamily === 'string' && m.osFamily ? m.osFamily : 'linux',
    osVersion: typeof m.osVersion === 'string' ? m.osVersion : '',
    loginUser: typeof m.loginUser === 'string' && /^[a-z_][a-z0-9_-]{0,31}$/.test(m.loginUser) ? m.loginUser : null,
    architecture: typeof m.architecture === 'string' && m.architecture ? m.architecture : 'x86_64',
    minVcpus: typeof m.minVcpus === 'number' && Number.isInteger(m.minVcpus) && m.minVcpus > 0 ? m.minVcpus : 1,
    features: {
      cloudInit: m.features?.cloudInit === true,
      guestAgent: m.features?.guestAgent === true,
      hotplug: m.features?.hotplug === true,
    },
  };
  return {
    ...manifest,
    ...(captured && m.capturedFrom ? { capturedFrom: m.capturedFrom } : {}),
    captured,
    dir,
    kernelPath: path.join(dir, manifest.kernel),
    initrdPath: path.join(dir, manifest.initrd),
    diskPath: path.join(dir, manifest.disk),
  };
}

/**
 * Images available in `imagesDir` (built) and `capturedDir` (captured from
 * guests), complete ones only. An id is looked up in the built ones first.
 */
export class ImageCatalog {
  constructor(
    readonly imagesDir: string = defaultImagesDir(),
    readonly capturedDir: string | null = null,
  ) {}

  /** The image, or null when it is not (completely) there. */
  find(id: string): GuestImage | null {
    if (!IMAGE_ID_PATTERN.test(id)) return null;
    for (const [root, captured] of this.roots()) {
      const dir = path.join(root, id);
      const manifestPath = path.join(dir, IMAGE_MANIFEST);
      if (!existsSync(manifestPath)) continue;
      const image = parseManifest(dir, JSON.parse(readFileSync(manifestPath, 'utf8')), captured);
      if (image.id !== id) return null;
      if (![image.kernelPath, image.initrdPath, image.diskPath].every((p) => existsSync(p))) return null;
      return image;
    }
    return null;
  }

  get(id: string): GuestImage {
    const image = this.find(id);
    if (!image) throw new Error(`image "${id}" is not in the catalog at ${this.imagesDir} (run: npm run images)`);
    return image;
  }

  list(): GuestImage[] {
    const ids = new Set<string>();
    for (const [root] of this.roots()) if (existsSync(root)) for (const name of readdirSync(root)) if (IMAGE_ID_PATTERN.test(name)) ids.add(name);
    return [...ids].sort().map((id) => this.find(id)).filter((img): img is GuestImage => img !== null);
  }

  private roots(): [string, boolean][] {
    return this.capturedDir ? [[this.imagesDir, false], [this.capturedDir, true]] : [[this.imagesDir, false]];
  }
}

// 3. What an image weighs ---------------------------------------------------

export interface ImageFootprint {
  /** Bytes its files occupy on the host (allocated blocks, as `du` counts them). */
  sizeBytes: number;
  /** The base disk's virtual size from its qcow2 header. */
  virtualSizeBytes: number;
}

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** The virtual size a qcow2 header declares (big-endian u64 at offset 24), or null for another format. */
export function qcow2VirtualSize(file: string): number | null {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(32);
    if (readSync(fd, header, 0, 32, 0) < 32 || header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    return Number(header.readBigUInt64BE(24));
  } finally {
    closeSync(fd);
  }
}

export function imageFootprint(image: GuestImage): ImageFootprint {
  const files = [image.kernelPath, image.initrdPath, image.diskPath];
  const sizeBytes = files.reduce((sum, f) => sum + statSync(f).blocks * 512, 0);
  return { sizeBytes, virtualSizeBytes: qcow2VirtualSize(image.diskPath) ?? statSync(image.diskPath).size };
}
