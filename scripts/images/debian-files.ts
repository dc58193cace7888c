// The files the Debian 12 image adds to a stock bookworm tree, and the
// mmdebstrap hooks that put them in. Kept as data: the recipe hash covers every
// byte, and the tests read them back.

export interface RecipeFile {
  /** Absolute path inside the image. */
  path: string;
  mode: number;
  text: string;
}

// 1. The initramfs: written before the kernel is installed, so its postinst
//    builds the right initrd the first time. The cloud kernel has ext4 (and
//    crc32c) built in; virtio_blk and virtio_pci are modules, and "list" keeps
//    everything else out (MODULES=most would pull in hundreds of drivers).

export const INITRAMFS_CONF = `# Cirrus: only the modules listed by the cirrus hook (the root disk is virtio-blk).
MODULES=list
COMPRESS=zstd
`;

export const INITRAMFS_HOOK = `#!/bin/sh
# Cirrus: the drivers for root=/dev/vda (a virtio-blk disk on the PCI bus).
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in
  prereqs) prereqs; exit 0 ;;
esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk
`;

// 2. cloud-init. The driver attaches a NoCloud seed (ISO9660 "cidata") to
//    every guest; nothing is ever fetched from a metadata server. networkd is
//    what cloud-init 22.4 renders when ifupdown is absent: one DHCP client per
//    NIC, all at once, so a NIC without a DHCP server delays nothing.

export const CLOUD_CFG = `# Cirrus: how this image meets the Cirrus driver.
datasource_list: [ NoCloud, None ]
system_info:
  network:
    renderers: [ networkd ]
# The user cloud.cfg defines (debian: passwordless sudo, password locked) gets
# the seed's public-keys; nobody logs in with a password over SSH.
ssh_pwauth: false
disable_root: true
# Every instance makes its own host keys on its first boot (no DSA: sshd 9.2 ignores it).
ssh_deletekeys: true
ssh_genkeytypes: [ rsa, ecdsa, ed25519 ]
# No apt at boot unless the user-data asks for it.
package_update: false
package_upgrade: false
package_reboot_if_required: false
apt:
  preserve_sources_list: true
# One filesystem on the whole disk, no partition table: nothing to grow but
# the filesystem, which resize2fs grows online to the overlay's size.
growpart:
  mode: "off"
resize_rootfs: true
# The kernel is booted directly: there is no GRUB to tell debconf about (4 s under TCG).
grub_dpkg:
  enabled: false
manage_etc_hosts: true
# C.UTF-8 needs no locale-gen (seconds of CPU under TCG).
locale: C.UTF-8
`;

// 3. systemd and udev.

/** Online hot-added CPUs and memory at once (the kernel leaves them offline). */
export const HOTPLUG_RULES = `# Cirrus: bring hot-added CPUs and memory online as soon as they appear.
SUBSYSTEM=="cpu", ACTION=="add", TEST=="online", ATTR{online}=="0", ATTR{online}="1"
SUBSYSTEM=="memory", ACTION=="add", TEST=="state", ATTR{state}=="offline", ATTR{state}="online"
`;

/**
 * network-online waits for the first NIC with an IPv4 address, 10 s at most:
 * cloud-init.service is ordered after it and before sysinit.target, so the
 * stock wait (every link, 120 s) would hold the whole boot, sshd included,
 * behind a NIC that gets no DHCP answer. The report waits for the others.
 */
export const WAIT_ONLINE_DROPIN = `[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --ipv4 --timeout=10
`;

/** cloud-init makes the host keys; this covers a boot where it did not run. */
export const SSH_HOST_KEYS_DROPIN = `[Service]
ExecStartPre=/usr/bin/ssh-keygen -A
`;

/**
 * What cloud-init writes for `ssh_pwauth: false`, already there: finding it
 * unchanged, cloud-init does not restart sshd mid-boot (which drops the first
 * connections), and no password login is possible even before it runs.
 */
export const SSHD_CLOUD_INIT_CONF = 'PasswordAuthentication no\n';

export const HW_REPORT_PATH = '/usr/local/lib/cirrus/hw-report';

/**
 * The report Cirrus Tiny Linux prints (see tiny-linux-init.ts and
 * parseHardwareReport), on every boot, once every NIC has its DHCP address
 * (or 10 s have passed) and sshd is up.
 */
export const HW_REPORT_SCRIPT = `#!/bin/sh
# Cirrus: the hardware report on the serial console, then CIRRUS-READY.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

nic_ip() {
  ip -4 -o addr show dev "$1" scope global 2>/dev/null | sed -n 's/.* inet \\([0-9.]*\\)\\/.*/\\1/p' | head -n 1
}

# agetty hangs the serial line up when it starts: retry a write it cut off.
say() {
  echo "$1"
  for try in 1 2 3 4 5; do
    echo "$1" > /dev/ttyS0 2>/dev/null && return 0
    sleep 0.2
  done
}

# Every NIC's DHCP answer, until 10 s after networkd started asking.
uptime_s() { read -r up _ < /proc/uptime; echo "\${up%.*}"; }
started_us=$(systemctl show -P ActiveEnterTimestampMonotonic systemd-networkd.service 2>/dev/null)
[ "\${started_us:-0}" -gt 0 ] 2>/dev/null || started_us=$(( $(uptime_s) * 1000000 ))
deadline=$(( started_us / 1000000 + 10 ))
while :; do
  missing=0
  for dev in /sys/class/net/eth*; do
    [ -e "$dev/address" ] || continue
    [ -n "$(nic_ip "\${dev##*/}")" ] || missing=1
  done
  [ $missing -eq 0 ] && break
  [ "$(uptime_s)" -lt $deadline ] || break
  sleep 0.5
done

vcpus=$(grep -c '^processor' /proc/cpuinfo)
mem_kb=$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo)
disk_bytes=0
[ -r /sys/block/vda/size ] && disk_bytes=$(( $(cat /sys/block/vda/size) * 512 ))
nics=0
macs=""
ips=""
for dev in /sys/class/net/eth*; do
  [ -e "$dev/address" ] || continue
  nics=$((nics + 1))
  macs="$macs\${macs:+,}$(cat "$dev/address")"
  ip=$(nic_ip "\${dev##*/}")
  ips="$ips\${ips:+,}\${ip:--}"
done
say "CIRRUS-HW vcpus=$vcpus mem_kb=$mem_kb disk_bytes=$disk_bytes nics=$nics macs=$macs ips=$ips"
say "CIRRUS-READY"
`;

export const HW_REPORT_UNIT = `[Unit]
Description=Cirrus hardware report on the serial console
Wants=network-online.target
After=network-online.target cloud-init.service ssh.service

[Service]
Type=oneshot
ExecStart=${HW_REPORT_PATH}
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

// 4. The root filesystem is the whole disk.

export const FSTAB = `# Cirrus: the whole virtual disk is one ext4 filesystem (no partition table).
/dev/vda / ext4 rw,errors=remount-ro 0 1
`;

export const HOSTS = `127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`;

/** Copied in right after the essential packages, before the kernel. */
export const ESSENTIAL_FILES: RecipeFile[] = [
  { path: '/etc/initramfs-tools/conf.d/cirrus.conf', mode: 0o644, text: INITRAMFS_CONF },
  { path: '/etc/initramfs-tools/hooks/cirrus', mode: 0o755, text: INITRAMFS_HOOK },
];

/** Copied in once every package is installed. */
export const IMAGE_FILES: RecipeFile[] = [
  { path: '/etc/cloud/cloud.cfg.d/90-cirrus.cfg', mode: 0o644, text: CLOUD_CFG },
  { path: '/etc/udev/rules.d/80-cirrus-hotplug.rules', mode: 0o644, text: HOTPLUG_RULES },
  { path: '/etc/systemd/system/systemd-networkd-wait-online.service.d/cirrus.conf', mode: 0o644, text: WAIT_ONLINE_DROPIN },
  { path: '/etc/systemd/system/ssh.service.d/cirrus-host-keys.conf', mode: 0o644, text: SSH_HOST_KEYS_DROPIN },
  { path: '/etc/ssh/sshd_config.d/50-cloud-init.conf', mode: 0o600, text: SSHD_CLOUD_INIT_CONF },
  { path: HW_REPORT_PATH, mode: 0o755, text: HW_REPORT_SCRIPT },
  { path: '/etc/systemd/system/cirrus-hw.service', mode: 0o644, text: HW_REPORT_UNIT },
  { path: '/etc/fstab', mode: 0o644, text: FSTAB },
  { path: '/etc/hostname', mode: 0o644, text: 'debian\n' },
  { path: '/etc/hosts', mode: 0o644, text: HOSTS },
];

/**
 * The customize hook, run by mmdebstrap outside the chroot with its path as
 * $1 once every package is installed and IMAGE_FILES are in.
 */
export const CUSTOMIZE_SCRIPT = `#!/bin/sh
set -eu
root="$1"
fail() { echo "E: cirrus: $*" >&2; exit 1; }

# 1. The boot must work without a bootloader: check the initrd can find /dev/vda.
kver=$(ls "$root/boot" | sed -n 's/^vmlinuz-//p' | head -n 1)
[ -n "$kver" ] || fail "no kernel in /boot"
[ -e "$root/boot/initrd.img-$kver" ] || fail "no initrd for $kver"
chroot "$root" lsinitramfs "/boot/initrd.img-$kver" > "$root/tmp/initrd.list"
grep -q '/virtio_blk\\.ko' "$root/tmp/initrd.list" || fail "the initrd lacks virtio_blk"
grep -q '/virtio_pci\\.ko' "$root/tmp/initrd.list" || fail "the initrd lacks virtio_pci"
grep -q '^CONFIG_EXT4_FS=y' "$root/boot/config-$kver" || grep -q '/ext4\\.ko' "$root/tmp/initrd.list" || fail "neither the kernel nor the initrd has ext4"
rm -f "$root/tmp/initrd.list"
# A YAML slip would leave cloud-init with no configuration at all.
chroot "$root" python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' /etc/cloud/cloud.cfg.d/90-cirrus.cfg || fail "90-cirrus.cfg is not YAML"

# 2. Services: networkd (what cloud-init renders), the report; apt stays quiet.
chroot "$root" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service cirrus-hw.service
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

# 3. The guest boots the kernel extracted from this tree: an upgrade inside it
#    must not replace the modules under that kernel.
chroot "$root" apt-mark hold linux-image-cloud-amd64 "linux-image-$kver" > /dev/null

# 4. Nothing that must differ between instances: host keys, machine id, seeds.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"
rm -rf "$root/var/lib/cloud"/*

# 5. Apt inside the guest behaves as Debian's does (mmdebstrap turned Recommends off for the build).
#    Not /tmp: mmdebstrap keeps its apt configuration there until its own cleanup
#    (which empties the package lists and cache); the builder empties /tmp after.
rm -f "$root/etc/apt/apt.conf.d/99mmdebstrap"
rm -rf "$root/var/log/apt"/*
`;
