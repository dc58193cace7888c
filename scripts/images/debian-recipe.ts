// The recipe of the "Debian 12 (bookworm)" image, as data: what mmdebstrap
// installs, the files added, how the disk is made, the kernel command line.
// Its hash (every input, in a stable order) is what `npm run images
// --if-missing` compares with the built image's manifest, so changing any of
// it rebuilds the image; the package versions are whatever bookworm has then.
import { createHash } from 'node:crypto';
import type { ImageManifest } from '../../server/hypervisor/images/catalog';
import { CUSTOMIZE_SCRIPT, ESSENTIAL_FILES, IMAGE_FILES, type RecipeFile } from './debian-files';

export const DEBIAN_ID = 'debian-12';
export const DEBIAN_NAME = 'Debian 12 (bookworm)';
/** Bump when the build code changes in a way the recipe data does not show. */
export const DEBIAN_BUILD_VERSION = 1;

export interface DebianRecipe {
  buildVersion: number;
  suite: string;
  mirrors: string[];
  variant: string;
  packages: string[];
  /** mmdebstrap --aptopt / --dpkgopt values; the dpkg ones stay in the image. */
  aptOptions: string[];
  dpkgOptions: string[];
  /** mmdebstrap --hook-dir (host paths of hook sets mmdebstrap ships). */
  hookDirs: string[];
  essentialFiles: RecipeFile[];
  files: RecipeFile[];
  customizeScript: string;
  diskSizeBytes: number;
  mkfsOptions: string[];
  cmdline: string;
}

/** The packages whose versions the manifest's `source` names. */
export const SOURCE_PACKAGES = ['linux-image-cloud-amd64', 'openssh-server', 'cloud-init'] as const;

export function debianRecipe(): DebianRecipe {
  return {
    buildVersion: DEBIAN_BUILD_VERSION,
    suite: 'bookworm',
    mirrors: [
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ],
    // Essential + apt; everything else is named below (no Recommends).
    variant: 'apt',
    packages: [
      // The kernel: the cloud flavour has every virtio driver, CPU and memory
      // hotplug and the VGA text console, and half the modules of the generic one.
      'linux-image-cloud-amd64',
      'initramfs-tools',
      'zstd',
      'systemd-sysv',
      'udev',
      // logind (the power button) and hostnamectl (cloud-init) need the bus.
      'dbus',
      'libpam-systemd',
      // networkd puts DHCP's name servers in resolved, not /etc/resolv.conf.
      'systemd-resolved',
      'iproute2',
      'netbase',
      'passwd',
      'openssh-server',
      'cloud-init',
      'qemu-guest-agent',
      'sudo',
      'e2fsprogs',
    ],
    aptOptions: ['Apt::Install-Recommends "false"'],
    // No manual pages, info or translations: a third of the tree, and the
    // exclusions hold for what the guest installs later too.
    dpkgOptions: [
      'path-exclude=/usr/share/man/*',
      'path-exclude=/usr/share/info/*',
      'path-exclude=/usr/share/doc/*',
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/locale/*',
      'path-include=/usr/share/locale/locale.alias',
    ],
    // Merged /usr by symlinks, as debootstrap does, instead of the usrmerge
    // package (which would bring perl, 50 MB, for a one-time conversion).
    hookDirs: ['/usr/share/mmdebstrap/hooks/merged-usr'],
    // Copies: a caller may change its recipe without changing everyone's.
    essentialFiles: ESSENTIAL_FILES.map((f) => ({ ...f })),
    files: IMAGE_FILES.map((f) => ({ ...f })),
    customizeScript: CUSTOMIZE_SCRIPT,
    diskSizeBytes: 2 * 1024 ** 3,
    // Zero the inode tables and journal now, on the host, rather than have
    // every guest's ext4lazyinit write them into its overlay.
    mkfsOptions: ['-L', 'rootfs', '-E', 'lazy_itable_init=0,lazy_journal_init=0'],
    cmdline: 'root=/dev/vda rw console=tty0 console=ttyS0,115200 net.ifnames=0',
  };
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function recipeHash(recipe: DebianRecipe): string {
  return createHash('sha256').update(stableJson(recipe)).digest('hex');
}

export interface MmdebstrapPaths {
  /** The directory mmdebstrap fills (it must not exist yet, or be empty). */
  root: string;
  /** Host directories holding ESSENTIAL_FILES and IMAGE_FILES at their image paths. */
  essentialDir: string;
  filesDir: string;
  /** The customize script, executable. */
  customizeScript: string;
}

/** mmdebstrap's argv: pure, so the tests see exactly what runs. */
export function mmdebstrapArgs(recipe: DebianRecipe, paths: MmdebstrapPaths): string[] {
  return [
    '--mode=root',
    '--format=directory',
    `--variant=${recipe.variant}`,
    ...recipe.aptOptions.map((o) => `--aptopt=${o}`),
    ...recipe.dpkgOptions.map((o) => `--dpkgopt=${o}`),
    ...recipe.hookDirs.map((d) => `--hook-dir=${d}`),
    `--include=${recipe.packages.join(',')}`,
    `--essential-hook=sync-in ${paths.essentialDir} /`,
    `--customize-hook=sync-in ${paths.filesDir} /`,
    `--customize-hook=${paths.customizeScript}`,
    recipe.suite,
    paths.root,
    ...recipe.mirrors,
  ];
}

export interface ManifestInput {
  recipe: DebianRecipe;
  /** Installed versions by package name (SOURCE_PACKAGES at least). */
  versions: Record<string, string>;
  /** The kernel package the meta-package pulled in, e.g. linux-image-6.1.0-57-cloud-amd64. */
  kernelPackage: string;
  builtAt: Date;
}

export function debianManifest({ recipe, versions, kernelPackage, builtAt }: ManifestInput): ImageManifest {
  const v = (pkg: string) => versions[pkg] ?? 'unknown';
  return {
    id: DEBIAN_ID,
    name: DEBIAN_NAME,
    kernel: 'vmlinuz',
    initrd: 'initrd.img',
    disk: 'disk.qcow2',
    cmdline: recipe.cmdline,
    minMemoryMiB: 512,
    minDiskGiB: Math.ceil(recipe.diskSizeBytes / 1024 ** 3),
    source: `Debian ${recipe.suite}: ${kernelPackage} ${v(kernelPackage)}, openssh-server ${v('openssh-server')}, cloud-init ${v('cloud-init')}`,
    buildVersion: recipe.buildVersion,
    builtAt: builtAt.toISOString(),
    recipeHash: recipeHash(recipe),
    osFamily: 'debian',
    osVersion: '12',
    loginUser: 'debian',
    architecture: 'x86_64',
    minVcpus: 1,
    features: { cloudInit: true, guestAgent: true, hotplug: true },
  };
}
