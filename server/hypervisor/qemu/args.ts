import type { Acceleration, GuestSpec } from '../types';
import type { GuestLayout } from './layout';
import { coldShape, MEMORY_SLOTS, type MachineShape } from './hotplug';
import { volumeArgs } from './volumes';

export interface QemuBootImage {
  kernelPath: string;
  initrdPath: string;
  cmdline: string;
}

export interface QemuArgsInput {
  spec: GuestSpec;
  image: QemuBootImage;
  layout: GuestLayout;
  accel: Acceleration;
  /** Attach layout.seedIso (it exists: the guest's image reads a NoCloud seed). */
  seed?: boolean;
  /** Give the guest agent its virtio-serial port (the image runs qemu-ga). */
  guestAgent?: boolean;
  /** Wait for a saved state, listening for it on layout.incomingSocket from the start, instead of booting. */
  incoming?: boolean;
  /** The disk file the guest writes to, when snapshots moved it off layout.disk. */
  diskPath?: string;
  /** The machine to make (a saved state's, with what was hot-added into it); default: a cold boot of `spec`. */
  machine?: MachineShape;
  /**
   * Start with the vCPUs stopped (`-S`), for the driver to `cont` once QEMU
   * is in the guest's cgroup: nothing the guest runs is charged elsewhere.
   * Default true.
   */
  paused?: boolean;
}

export { macAddress } from '../spec';

/**
 * TCG's translation-block cache, in MiB. Since 5.0 QEMU reserves 1 GiB by
 * default (it was 32 MiB) and a guest's cache only grows until that fills, so
 * a busy TCG guest comes to hold most of it. Measured on QEMU 7.2, 2 cores: a
 * Debian 12 guest (1 vCPU, 512 MiB) had 592 MiB of cache resident at
 * CIRRUS-READY and 714 MiB 30 s later (RSS 1.1 GiB); capped, it holds the cap.
 * Debian booted in 56 s with 128 and 64 s with 64 (116 s with the default, on
 * a loaded host), so 128: Debian's boots are most of the test suite's time.
 * Tiny Linux fills 62 MiB booting, so either cap costs it nothing
 * (bench/density.ts: 20 guests, same RSS and boot), while 32 made its boot
 * about 1.7× slower, retranslating after each flush. Not guest-visible; KVM
 * has no such cache.
 */
export const TCG_TB_SIZE_MIB = 128;

/** QEMU splits option strings on commas; a literal comma is written twice. */
function opt(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * The exact argv (after the binary) that runs a guest: pure, so tests can
 * compare it with golden output. Inputs must already be validated.
 */
export function buildQemuArgs({ spec, image, layout, accel, seed = false, guestAgent = false, incoming = false, diskPath, machine = coldShape(spec), paused = true }: QemuArgsInput): string[] {
  const m = machine;
  const args = [
    '-name', `guest=${spec.id},debug-threads=on`,
    '-nodefaults',
    '-no-user-config',
    '-machine', 'pc',
    '-accel', accel === 'tcg' ? `tcg,tb-size=${TCG_TB_SIZE_MIB}` : accel,
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    // Room to hot-add into is part of the machine: CPU slots, memory slots and a ceiling.
    '-smp', m.maxVcpus > m.vcpus ? `${m.vcpus},maxcpus=${m.maxVcpus}` : String(m.vcpus),
    '-m', m.maxMemoryMiB > m.memoryMiB ? `size=${m.memoryMiB}M,slots=${MEMORY_SLOTS},maxmem=${m.maxMemoryMiB}M` : String(m.memoryMiB),
    '-kernel', image.kernelPath,
    '-initrd', image.initrdPath,
    '-append', image.cmdline,
    '-drive', `file=${opt(diskPath ?? layout.disk)},if=none,id=disk0,format=qcow2`,
    '-device', 'virtio-blk-pci,drive=disk0,id=vda',
  ];
  // What was hot-added into the machine a saved state comes from, under the same ids.
  for (const c of m.cpus) {
    args.push('-device', `${c.driver},id=${c.id},socket-id=${c.props['socket-id']},core-id=${c.props['core-id']},thread-id=${c.props['thread-id']}`);
  }
  for (const d of m.dimms) args.push('-object', `memory-backend-ram,id=mem-${d.id},size=${d.sizeMiB}M`, '-device', `pc-dimm,id=${d.id},memdev=mem-${d.id}`);
  if (seed) {
    args.push('-drive', `file=${opt(layout.seedIso)},if=none,id=seed0,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=seed0,id=vdb');
  }
  for (const [i, nic] of spec.nics.entries()) {
    // A tap QEMU creates itself (no scripts: the host network bridges and
    // shapes it). No vnet header, so a tap removed under a running guest can
    // be re-created on QEMU's own file (retap.ts) with nothing to renegotiate.
    const netdev = nic.tap ? `tap,id=net${i},ifname=${nic.tap},script=no,downscript=no,vnet_hdr=off` : `user,id=net${i}`;
    args.push('-netdev', netdev, '-device', `virtio-net-pci,netdev=net${i},id=nic${i},mac=${nic.mac},romfile=`);
  }
  args.push(
    '-device', 'VGA,id=video0',
    '-vnc', `unix:${opt(layout.vncSocket)}`,
    '-chardev', `socket,id=serial0,path=${opt(layout.serialSocket)},server=on,wait=off,logfile=${opt(layout.serialLog)},logappend=on`,
    '-serial', 'chardev:serial0',
    '-chardev', `socket,id=qmp,path=${opt(layout.qmpSocket)},server=on,wait=off`,
    '-mon', 'chardev=qmp,mode=control',
  );
  if (guestAgent) {
    args.push(
      '-chardev', `socket,id=qga0,path=${opt(layout.qgaSocket)},server=on,wait=off`,
      '-device', 'virtio-serial-pci,id=vser0',
      '-device', 'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0',
    );
  }
  // Volumes last, each on its own slot (outside the range the devices above are given automatically),
  // so a machine they were hot-plugged into and one built with them for its saved state are the same.
  args.push(...volumeArgs(spec.volumes ?? []));
  // Everything above is the machine, and must be identical when a saved state is loaded into it.
  // Listening from the start (not `defer`): its socket is made before the run directory is closed to QEMU's user.
  if (incoming) args.push('-incoming', `unix:${layout.incomingSocket}`);
  if (paused) args.push('-S');
  args.push(
    '-pidfile', layout.pidFile,
    // Seccomp, all of it: QEMU's blocklist (mount, reboot, kexec, swapon, …), obsolete
    // syscalls, set*uid and friends, fork and exec, and scheduler/affinity changes. QEMU
    // is started detached by the driver (no -daemonize) and migrates through a socket
    // the server serves (no exec:), so it never needs to spawn anything.
    '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
  );
  return args;
}
