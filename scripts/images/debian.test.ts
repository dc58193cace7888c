import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_MANIFEST, ImageCatalog } from '../../server/hypervisor/images/catalog';
import { parseHardwareReport } from '../../server/hypervisor/qemu/test-support';
import {
  CLOUD_CFG,
  CUSTOMIZE_SCRIPT,
  FSTAB,
  HOTPLUG_RULES,
  HW_REPORT_PATH,
  HW_REPORT_SCRIPT,
  HW_REPORT_UNIT,
  INITRAMFS_CONF,
  INITRAMFS_HOOK,
  WAIT_ONLINE_DROPIN,
} from './debian-files';
import { DEBIAN_BUILD_VERSION, DEBIAN_ID, debianManifest, debianRecipe, mmdebstrapArgs, recipeHash, stableJson, type DebianRecipe } from './debian-recipe';

describe('the Debian recipe hash', () => {
  it('is a sha256 that does not change between calls or with key order', () => {
    const hash = recipeHash(debianRecipe());
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(recipeHash(debianRecipe())).toBe(hash);
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(stableJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });

  const changes: [string, (r: DebianRecipe) => void][] = [
    ['a package', (r) => r.packages.push('less')],
    ['the package order', (r) => r.packages.reverse()],
    ['a file text', (r) => (r.files[0]!.text += '# changed\n')],
    ['a file mode', (r) => (r.files[0]!.mode = 0o600)],
    ['an essential file', (r) => (r.essentialFiles[0]!.text += '\n')],
    ['the customize script', (r) => (r.customizeScript += 'true\n')],
    ['the kernel command line', (r) => (r.cmdline += ' quiet')],
    ['the disk size', (r) => (r.diskSizeBytes *= 2)],
    ['the mirrors', (r) => r.mirrors.pop()],
    ['a dpkg option', (r) => r.dpkgOptions.pop()],
    ['the build version', (r) => (r.buildVersion += 1)],
  ];
  it.each(changes)('changes with %s', (_, change) => {
    const recipe = debianRecipe();
    change(recipe);
    expect(recipeHash(recipe)).not.toBe(recipeHash(debianRecipe()));
  });
});

describe('the Debian recipe', () => {
  const recipe = debianRecipe();

  it('installs what a cloud guest needs, with the cloud kernel', () => {
    for (const p of ['linux-image-cloud-amd64', 'openssh-server', 'cloud-init', 'qemu-guest-agent', 'systemd-sysv', 'udev', 'sudo', 'e2fsprogs', 'dbus', 'systemd-resolved']) {
      expect(recipe.packages).toContain(p);
    }
    expect(new Set(recipe.packages).size).toBe(recipe.packages.length);
  });

  it('boots from /dev/vda, a 2 GiB disk, with both consoles and eth* names', () => {
    expect(recipe.cmdline).toBe('root=/dev/vda rw console=tty0 console=ttyS0,115200 net.ifnames=0');
    expect(recipe.diskSizeBytes).toBe(2 * 1024 ** 3);
    expect(FSTAB).toMatch(/^\/dev\/vda \/ ext4 /m);
  });

  it('adds each file once, at an absolute path', () => {
    const paths = [...recipe.essentialFiles, ...recipe.files].map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const p of paths) expect(p).toMatch(/^\/[a-z]/);
    expect(recipe.files.find((f) => f.path === HW_REPORT_PATH)?.mode).toBe(0o755);
    expect(recipe.essentialFiles.find((f) => f.path === '/etc/initramfs-tools/hooks/cirrus')?.mode).toBe(0o755);
  });

  it('runs mmdebstrap with the recipe, the staged files and the customize script', () => {
    const args = mmdebstrapArgs(recipe, { root: '/w/root', essentialDir: '/w/essential', filesDir: '/w/files', customizeScript: '/w/customize.sh' });
    expect(args).toEqual([
      '--mode=root',
      '--format=directory',
      '--variant=apt',
      '--aptopt=Apt::Install-Recommends "false"',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/info/*',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-include=/usr/share/locale/locale.alias',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      `--include=${recipe.packages.join(',')}`,
      '--essential-hook=sync-in /w/essential /',
      '--customize-hook=sync-in /w/files /',
      '--customize-hook=/w/customize.sh',
      'bookworm',
      '/w/root',
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
  });
});

describe('the Debian manifest', () => {
  const recipe = debianRecipe();
  const manifest = debianManifest({
    recipe,
    versions: { 'linux-image-6.1.0-57-cloud-amd64': '6.1.158-1', 'openssh-server': '1:9.2p1-2+deb12u7', 'cloud-init': '22.4.2-1+deb12u3' },
    kernelPackage: 'linux-image-6.1.0-57-cloud-amd64',
    builtAt: new Date('2025-06-01T12:00:00Z'),
  });

  it('describes the image as the catalog expects', () => {
    expect(manifest).toEqual({
      id: 'debian-12',
      name: 'Debian 12 (bookworm)',
      kernel: 'vmlinuz',
      initrd: 'initrd.img',
      disk: 'disk.qcow2',
      cmdline: recipe.cmdline,
      minMemoryMiB: 512,
      minDiskGiB: 2,
      source: 'Debian bookworm: linux-image-6.1.0-57-cloud-amd64 6.1.158-1, openssh-server 1:9.2p1-2+deb12u7, cloud-init 22.4.2-1+deb12u3',
      buildVersion: DEBIAN_BUILD_VERSION,
      builtAt: '2025-06-01T12:00:00.000Z',
      recipeHash: recipeHash(recipe),
      osFamily: 'debian',
      osVersion: '12',
      loginUser: 'debian',
      architecture: 'x86_64',
      minVcpus: 1,
      features: { cloudInit: true, guestAgent: true, hotplug: true },
    });
  });

  it('reads back through the catalog', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-debian-manifest-'));
    try {
      mkdirSync(path.join(dir, DEBIAN_ID));
      for (const f of ['vmlinuz', 'initrd.img', 'disk.qcow2']) writeFileSync(path.join(dir, DEBIAN_ID, f), '');
      writeFileSync(path.join(dir, DEBIAN_ID, IMAGE_MANIFEST), JSON.stringify(manifest));
      const image = new ImageCatalog(dir).get(DEBIAN_ID);
      expect(image).toMatchObject({ loginUser: 'debian', osFamily: 'debian', osVersion: '12', minVcpus: 1, recipeHash: manifest.recipeHash });
      expect(image.features).toEqual({ cloudInit: true, guestAgent: true, hotplug: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the files the Debian image adds', () => {
  it('configure cloud-init for the NoCloud seed, networkd, no apt and no password logins', () => {
    expect(CLOUD_CFG).toMatch(/^datasource_list: \[ NoCloud, None \]$/m);
    expect(CLOUD_CFG).toMatch(/^ {4}renderers: \[ networkd \]$/m);
    expect(CLOUD_CFG).toMatch(/^ssh_pwauth: false$/m);
    expect(CLOUD_CFG).toMatch(/^package_update: false$/m);
    expect(CLOUD_CFG).toMatch(/^package_upgrade: false$/m);
    expect(CLOUD_CFG).toMatch(/^resize_rootfs: true$/m);
    expect(CLOUD_CFG).not.toMatch(/\t/);
  });

  it('online hot-added CPUs and memory', () => {
    expect(HOTPLUG_RULES).toContain('SUBSYSTEM=="cpu", ACTION=="add", TEST=="online", ATTR{online}=="0", ATTR{online}="1"');
    expect(HOTPLUG_RULES).toContain('SUBSYSTEM=="memory", ACTION=="add", TEST=="state", ATTR{state}=="offline", ATTR{state}="online"');
  });

  it('put virtio_blk and virtio_pci in the initrd, and nothing unasked', () => {
    expect(INITRAMFS_CONF).toMatch(/^MODULES=list$/m);
    expect(INITRAMFS_HOOK).toMatch(/^manual_add_modules virtio_pci virtio_blk$/m);
  });

  it('cap the wait for the network at 10 s', () => {
    expect(WAIT_ONLINE_DROPIN).toMatch(/^ExecStart=$/m);
    expect(WAIT_ONLINE_DROPIN).toMatch(/--timeout=10$/m);
  });

  it('run the hardware report after the network and sshd, on every boot', () => {
    expect(HW_REPORT_UNIT).toContain(`ExecStart=${HW_REPORT_PATH}\n`);
    expect(HW_REPORT_UNIT).toMatch(/^After=network-online\.target .*ssh\.service$/m);
    expect(HW_REPORT_UNIT).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(CUSTOMIZE_SCRIPT).toMatch(/systemctl enable .*cirrus-hw\.service/);
  });

  it('print the report in the format the tests parse, then CIRRUS-READY', () => {
    const line = /^say "(CIRRUS-HW [^"]*)"$/m.exec(HW_REPORT_SCRIPT)?.[1];
    expect(line).toBeDefined();
    const values: Record<string, string> = {
      vcpus: '2',
      mem_kb: '1004360',
      disk_bytes: '4294967296',
      nics: '2',
      macs: '52:54:00:12:34:56,52:54:00:12:34:57',
      ips: '10.0.2.15,-',
    };
    const printed = line!.replace(/\$([a-z_]+)/g, (_, name: string) => values[name] ?? `?${name}`);
    expect(parseHardwareReport(printed + '\r\n')).toEqual({
      vcpus: 2,
      memKb: 1004360,
      diskBytes: 4294967296,
      nics: 2,
      macs: ['52:54:00:12:34:56', '52:54:00:12:34:57'],
      ips: ['10.0.2.15', '-'],
    });
    expect(HW_REPORT_SCRIPT).toMatch(/say "CIRRUS-HW [^\n]*\nsay "CIRRUS-READY"\n$/);
  });

  it('are shell scripts sh can parse', () => {
    for (const script of [HW_REPORT_SCRIPT, CUSTOMIZE_SCRIPT, INITRAMFS_HOOK]) {
      expect(script.startsWith('#!/bin/sh\n')).toBe(true);
      const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it("leave mmdebstrap's /tmp alone (its apt configuration lives there until its cleanup, which would otherwise run on the host)", () => {
    expect(CUSTOMIZE_SCRIPT).not.toMatch(/\$root\/tmp"?\/\*|\$root\/tmp"?\s*$/m);
  });

  it('leave no host keys or machine id behind', () => {
    expect(CUSTOMIZE_SCRIPT).toContain('rm -f "$root"/etc/ssh/ssh_host_*');
    expect(CUSTOMIZE_SCRIPT).toContain(': > "$root/etc/machine-id"');
  });
});
