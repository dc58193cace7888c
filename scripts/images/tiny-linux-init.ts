// The userland of "Cirrus Tiny Linux": busybox init, one setup script and the
// power-button hook. Kept as data so the build and its tests share it.

/** busybox init's table: setup once, then a shell on the screen and the serial port. */
export const INITTAB = `# Cirrus Tiny Linux
::sysinit:/etc/cirrus/rc
tty1::respawn:-/bin/sh
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/bin/reboot
::shutdown:/etc/cirrus/shutdown
`;

/**
 * Setup, run by init before any shell: load the virtio drivers, print the
 * hardware report, format the disk on first boot and mount it at /data.
 * \`$(( ))\` is 64-bit in Debian's busybox ash, so multi-GiB disks are exact.
 */
export const RC = `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /data /tmp /root /var/log
mount -t devpts devpts /dev/pts
hostname cirrus

say() { echo "$1" > /dev/ttyS0; echo "$1" > /dev/tty0; }

for m in $(cat /etc/cirrus/modules); do
  insmod "/lib/modules/$m.ko" || say "cirrus: could not load module $m"
done

# virtio probing is synchronous, but give udev-less devtmpfs a moment.
n=0
while [ ! -e /sys/block/vda ] && [ $n -lt 20 ]; do sleep 0.1; n=$((n + 1)); done

# Networking: every NIC asks for its address by DHCP at once (Cirrus's
# dnsmasq on a tenant network, QEMU's own on user-mode NICs); udhcpc stays in
# the background to renew. The report waits for the answers, up to ~6 s.
ip link set lo up
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
mkdir -p /run/cirrus
for dev in /sys/class/net/eth*; do
  [ -e "$dev/address" ] || continue
  n=\${dev##*/}
  ip link set "$n" up
  udhcpc -i "$n" -s /etc/cirrus/dhcp -t 5 -T 1 -A 5 -b > /dev/null 2>&1 &
done
wait

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
  ip=$(cat "/run/cirrus/ip-\${dev##*/}" 2>/dev/null)
  ips="$ips\${ips:+,}\${ip:--}"
done
say "CIRRUS-HW vcpus=$vcpus mem_kb=$mem_kb disk_bytes=$disk_bytes nics=$nics macs=$macs ips=$ips"

if [ -b /dev/vda ]; then
  magic=$(dd if=/dev/vda bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \\n')
  if [ "$magic" != "53ef" ]; then
    say "cirrus: first boot, formatting /dev/vda"
    mke2fs -F -L data /dev/vda > /dev/null 2>&1 || say "cirrus: mke2fs failed"
  fi
  mount -t ext2 /dev/vda /data || say "cirrus: could not mount /data"
fi

# The ACPI power button (QMP system_powerdown) powers off cleanly. acpid
# opens the event devices present when it starts: wait for devtmpfs to catch
# up with the input devices the kernel has.
n=0
while [ "$(ls /dev/input 2>/dev/null | grep -c '^event')" -lt "$(ls /sys/class/input | grep -c '^event')" ] && [ $n -lt 30 ]; do
  sleep 0.1; n=$((n + 1))
done
acpid -c /etc/acpi -l /var/log/acpid.log
say "CIRRUS-READY"
`;

/**
 * udhcpc's hook: configure the NIC it was given, note its address for the
 * report, take the first NIC's name server and host name. Each NIC's default
 * route gets its own metric (eth0 first), so several networks can coexist.
 */
export const DHCP_SCRIPT = `#!/bin/sh
n=\${interface#eth}
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    rm -f "/run/cirrus/ip-$interface"
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface" metric $((100 + n)); break; done
    if [ "$interface" = eth0 ]; then
      : > /etc/resolv.conf
      [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
      for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
      [ -n "$hostname" ] && hostname "$hostname" && echo "$hostname" > /etc/hostname
    fi
    echo "$ip" > "/run/cirrus/ip-$interface"
    ;;
esac
exit 0
`;

export const SHUTDOWN = `#!/bin/sh
sync
umount /data 2>/dev/null
sync
`;

/** busybox acpid runs /etc/acpi/PWRF/00000080 for the power button. */
export const POWER_BUTTON = `#!/bin/sh
echo "cirrus: power button, shutting down" > /dev/ttyS0
poweroff
`;

export const PROFILE = `export PATH=/bin HOME=/root
cd /root
PS1='cirrus:\\w# '
`;

/** Loaded in this order (dependencies first, verified against .modinfo at build time). */
export const WANTED_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_blk',
  'failover',
  'net_failover',
  'virtio_net',
  'crc16',
  'mbcache',
  'jbd2',
  'crc32c_generic',
  'ext4',
  'evdev',
  'button',
  // The screen: bochs DRM drives QEMU's standard VGA, and fbcon shows tty0 on it
  // (a PVH-booted kernel gets no VGA text console, so without it the screen stays on SeaBIOS).
  'bochs',
];
