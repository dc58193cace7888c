#!/usr/bin/env python3
# Re-create a tap on a running QEMU's own file: QEMU opened /dev/net/tun and
# holds the file; when the tap device is deleted under it, that file stays
# open but detached. pidfd_getfd (Linux 5.6) gives us the same open file, and
# TUNSETIFF on it creates the device anew, attached to QEMU's queue again.
# Node has no ioctl; this is the one step Cirrus cannot do in TypeScript.
#
#   retap.py <qemu pid> <tap name> [<tap name> ...]
#
# Detached tun files are found in /proc/<pid>/fdinfo ("iff:" with no name) and
# matched to the taps in the order QEMU opened them (its -netdev order).
# Prints one line per restored tap; exit 1 with a reason on stderr otherwise.
import ctypes, fcntl, os, re, struct, sys

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438


def main(argv):
    if len(argv) < 3 or not argv[1].isdigit():
        raise SystemExit('usage: retap.py <pid> <tap>...')
    pid, taps = int(argv[1]), argv[2:]
    for t in taps:
        if not re.fullmatch(r'ct[0-3][0-9a-f]{12}', t):
            raise SystemExit(f'not a Cirrus tap name: {t!r}')
    detached = []
    for fd in sorted(int(f) for f in os.listdir(f'/proc/{pid}/fd')):
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}') != '/dev/net/tun':
                continue
            with open(f'/proc/{pid}/fdinfo/{fd}') as info:
                iff = next((l.split(':', 1)[1].strip() for l in info if l.startswith('iff:')), None)
        except OSError:
            continue
        if iff == '':
            detached.append(fd)
    if len(detached) < len(taps):
        raise SystemExit(f'QEMU {pid} has {len(detached)} detached tap file(s), {len(taps)} tap(s) to restore')
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        raise SystemExit(f'pidfd_open({pid}): {os.strerror(ctypes.get_errno())}')
    for fd, tap in zip(detached, taps):
        mine = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if mine < 0:
            raise SystemExit(f'pidfd_getfd({pid}, {fd}): {os.strerror(ctypes.get_errno())}')
        try:
            fcntl.ioctl(mine, TUNSETIFF, struct.pack('16sH', tap.encode(), IFF_TAP | IFF_NO_PI))
        finally:
            os.close(mine)
        print(tap)


if __name__ == '__main__':
    main(sys.argv)
