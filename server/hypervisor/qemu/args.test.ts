import { describe, expect, it } from 'vitest';
import { buildQemuArgs, macAddress } from './args';
import { guestLayout } from './layout';
import { hotAddWhyNot, shapeTotals, validateShape } from './hotplug';
import { validateGuestSpec } from '../spec';

const image = { kernelPath: '/img/vmlinuz', initrdPath: '/img/initrd.img', cmdline: 'console=tty0 console=ttyS0 quiet' };

describe('buildQemuArgs', () => {
  it('turns a spec into the exact QEMU argv (TCG, a tap NIC and a user-mode NIC)', () => {
    const layout = guestLayout('/data/guests', 'web-1');
    const nics = [
      { mac: macAddress('web-1', 0), tap: 'ct0a1b2c3d4e5f6' },
      { mac: macAddress('web-1', 1), tap: null },
    ];
    const args = buildQemuArgs({ spec: { id: 'web-1', vcpus: 2, memoryMiB: 384, diskGiB: 2, nics, image: 'cirrus-tiny-linux' }, image, layout, accel: 'tcg' });
    expect(args).toEqual([
      '-name', 'guest=web-1,debug-threads=on',
      '-nodefaults',
      '-no-user-config',
      '-machine', 'pc',
      // The translation cache capped (QEMU's own default is 1 GiB: see TCG_TB_SIZE_MIB).
      '-accel', 'tcg,tb-size=128',
      '-cpu', 'max',
      '-smp', '2',
      '-m', '384',
      '-kernel', '/img/vmlinuz',
      '-initrd', '/img/initrd.img',
      '-append', 'console=tty0 console=ttyS0 quiet',
      '-drive', 'file=/data/guests/web-1/disk.qcow2,if=none,id=disk0,format=qcow2',
      '-device', 'virtio-blk-pci,drive=disk0,id=vda',
      '-netdev', 'tap,id=net0,ifname=ct0a1b2c3d4e5f6,script=no,downscript=no,vnet_hdr=off',
      '-device', `virtio-net-pci,netdev=net0,id=nic0,mac=${macAddress('web-1', 0)},romfile=`,
      '-netdev', 'user,id=net1',
      '-device', `virtio-net-pci,netdev=net1,id=nic1,mac=${macAddress('web-1', 1)},romfile=`,
      '-device', 'VGA,id=video0',
      '-vnc', 'unix:/data/guests/web-1/run/vnc.sock',
      '-chardev', 'socket,id=serial0,path=/data/guests/web-1/run/serial.sock,server=on,wait=off,logfile=/data/guests/web-1/run/serial.log,logappend=on',
      '-serial', 'chardev:serial0',
      '-chardev', 'socket,id=qmp,path=/data/guests/web-1/run/qmp.sock,server=on,wait=off',
      '-mon', 'chardev=qmp,mode=control',
      // Started with its vCPUs stopped: the driver puts it in its cgroup, then lets it run.
      '-S',
      '-pidfile', '/data/guests/web-1/run/qemu.pid',
      // No -daemonize: QEMU never forks, so the whole filter applies.
      '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    ]);
    expect(buildQemuArgs({ spec: { id: 'web-1', vcpus: 2, memoryMiB: 384, diskGiB: 2, nics, image: 'cirrus-tiny-linux' }, image, layout, accel: 'tcg', paused: false })).not.toContain('-S');
  });

  it('makes room to hot-add into, and re-plugs what was hot-added into the machine a saved state comes from', () => {
    const layout = guestLayout('/data/guests', 'big');
    const spec = { id: 'big', vcpus: 3, memoryMiB: 768, diskGiB: 2, nics: [], image: 'x', maxVcpus: 4, maxMemoryMiB: 2048 };
    const cold = buildQemuArgs({ spec, image, layout, accel: 'tcg' });
    expect(cold.slice(cold.indexOf('-smp'), cold.indexOf('-smp') + 4)).toEqual(['-smp', '3,maxcpus=4', '-m', 'size=768M,slots=8,maxmem=2048M']);
    expect(cold.join(' ')).not.toMatch(/pc-dimm|x86_64-cpu/);
    const machine = validateShape({
      vcpus: 1,
      maxVcpus: 4,
      memoryMiB: 512,
      maxMemoryMiB: 2048,
      cpus: [1, 2].map((i) => ({ id: `cpu${i}`, driver: 'max-x86_64-cpu', props: { 'socket-id': i, 'core-id': 0, 'thread-id': 0 } })),
      dimms: [{ id: 'dimm0', sizeMiB: 256 }],
    });
    expect(shapeTotals(machine)).toEqual({ vcpus: 3, memoryMiB: 768 });
    const saved = buildQemuArgs({ spec, image, layout, accel: 'tcg', incoming: true, machine });
    const at = saved.indexOf('virtio-blk-pci,drive=disk0,id=vda') + 1;
    expect(saved.slice(saved.indexOf('-smp'), saved.indexOf('-smp') + 4)).toEqual(['-smp', '1,maxcpus=4', '-m', 'size=512M,slots=8,maxmem=2048M']);
    expect(saved.slice(at, at + 8)).toEqual([
      '-device', 'max-x86_64-cpu,id=cpu1,socket-id=1,core-id=0,thread-id=0',
      '-device', 'max-x86_64-cpu,id=cpu2,socket-id=2,core-id=0,thread-id=0',
      '-object', 'memory-backend-ram,id=mem-dimm0,size=256M',
      '-device', 'pc-dimm,id=dimm0,memdev=mem-dimm0',
    ]);
    // A recorded shape is checked before any of it reaches the argv.
    expect(() => validateShape({ ...machine, cpus: [{ id: 'cpu1,x=1', driver: 'max-x86_64-cpu', props: { 'socket-id': 1, 'core-id': 0, 'thread-id': 0 } }] })).toThrow(/a CPU/);
    expect(() => validateShape({ ...machine, dimms: [{ id: 'dimm0', sizeMiB: 4096 }] })).toThrow(/more plugged than it has room for/);
    expect(hotAddWhyNot(machine, { vcpus: 2, memoryMiB: 768 })).toMatch(/is not made smaller/);
    expect(hotAddWhyNot(machine, { vcpus: 5, memoryMiB: 768 })).toMatch(/room for 4 vCPU at most/);
    expect(hotAddWhyNot(machine, { vcpus: 4, memoryMiB: 800 })).toMatch(/in steps of 128 MiB/);
    expect(hotAddWhyNot(machine, { vcpus: 4, memoryMiB: 1024 })).toBeNull();
  });

  it('uses the host CPU under KVM, no NIC devices for zero NICs, and escapes commas in paths', () => {
    const layout = guestLayout('/srv/a,b/guests', 'db');
    const args = buildQemuArgs({ spec: { id: 'db', vcpus: 1, memoryMiB: 128, diskGiB: 1, nics: [], image: 'x' }, image, layout, accel: 'kvm' });
    expect(args.slice(6, 10)).toEqual(['-accel', 'kvm', '-cpu', 'host']);
    expect(args.some((a) => a.includes('virtio-net'))).toBe(false);
    expect(args).toContain('file=/srv/a,,b/guests/db/disk.qcow2,if=none,id=disk0,format=qcow2');
    expect(args).toContain('unix:/srv/a,,b/guests/db/run/vnc.sock');
    // Raw (non-option) arguments are passed through untouched.
    expect(args[args.indexOf('-pidfile') + 1]).toBe('/srv/a,b/guests/db/run/qemu.pid');
  });

  it('attaches the cloud-init seed read-only and the guest agent port only when asked', () => {
    const layout = guestLayout('/data/guests', 'deb');
    const spec = { id: 'deb', vcpus: 1, memoryMiB: 512, diskGiB: 4, nics: [], image: 'debian-12' };
    const plain = buildQemuArgs({ spec, image, layout, accel: 'tcg' });
    expect(plain.join(' ')).not.toMatch(/seed|qga|virtio-serial/);
    const args = buildQemuArgs({ spec, image, layout, accel: 'tcg', seed: true, guestAgent: true });
    const at = (needle: string) => args.indexOf(needle);
    // The seed is the second disk (vdb): the root disk stays vda.
    expect(args.slice(at('virtio-blk-pci,drive=disk0,id=vda') + 1, at('virtio-blk-pci,drive=disk0,id=vda') + 5)).toEqual([
      '-drive', 'file=/data/guests/deb/seed.iso,if=none,id=seed0,format=raw,readonly=on',
      '-device', 'virtio-blk-pci,drive=seed0,id=vdb',
    ]);
    expect(args.slice(at('chardev=qmp,mode=control') + 1, at('-S'))).toEqual([
      '-chardev', 'socket,id=qga0,path=/data/guests/deb/run/qga.sock,server=on,wait=off',
      '-device', 'virtio-serial-pci,id=vser0',
      '-device', 'virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0',
    ]);
  });

  it('waits for a saved state on the identical machine when restoring', () => {
    const layout = guestLayout('/data/guests', 'deb');
    const spec = { id: 'deb', vcpus: 2, memoryMiB: 512, diskGiB: 4, nics: [{ mac: '02:00:00:00:00:01', tap: 'ct0abc' }], image: 'debian-12' };
    const boot = buildQemuArgs({ spec, image, layout, accel: 'tcg', seed: true, guestAgent: true });
    const restore = buildQemuArgs({ spec, image, layout, accel: 'tcg', seed: true, guestAgent: true, incoming: true });
    expect(restore.filter((a, i) => !(a === '-incoming' || restore[i - 1] === '-incoming'))).toEqual(boot);
    expect(restore.slice(restore.indexOf('-incoming'), restore.indexOf('-incoming') + 2)).toEqual(['-incoming', 'unix:/data/guests/deb/run/incoming.sock']);
  });
});

describe('buildQemuArgs: volumes', () => {
  const layout = guestLayout('/data/guests', 'db');
  const base = { id: 'db', vcpus: 1, memoryMiB: 256, diskGiB: 2, nics: [{ mac: '02:00:00:00:00:01', tap: null }], image: 'x' };
  const a = { id: 'vol-0123456789abcdef0', source: { kind: 'file' as const, path: '/pools/fast,1/vol-0123456789abcdef0.qcow2', format: 'qcow2' as const }, limits: { iops: 500, bytesPerSecond: 0 }, slot: 0x19 };
  const b = { id: 'vol-00000000000000abc', source: { kind: 'file' as const, path: '/pools/raw/vol-00000000000000abc.img', format: 'raw' as const }, limits: null };

  it('plugs each volume as a throttle group, one blockdev chain and a virtio disk on its own slot', () => {
    const args = buildQemuArgs({ spec: { ...base, volumes: [a, b] }, image, layout, accel: 'tcg' });
    const at = args.indexOf('chardev=qmp,mode=control') + 1;
    expect(args.slice(at, args.indexOf('-S'))).toEqual([
      '-object', '{"qom-type":"throttle-group","id":"tg-vol-0123456789abcdef0","limits":{"iops-total":500,"bps-total":0}}',
      '-blockdev',
      '{"driver":"throttle","node-name":"vol-0123456789abcdef0-thr","throttle-group":"tg-vol-0123456789abcdef0","file":{"driver":"qcow2","node-name":"vol-0123456789abcdef0-fmt","discard":"unmap","file":{"driver":"file","node-name":"vol-0123456789abcdef0-file","filename":"/pools/fast,1/vol-0123456789abcdef0.qcow2","discard":"unmap"}}}',
      '-device', 'virtio-blk-pci,id=vol-0123456789abcdef0,drive=vol-0123456789abcdef0-thr,serial=vol0123456789abcdef0,bus=pci.0,addr=0x19',
      // A record without a slot gets the lowest free one.
      '-object', '{"qom-type":"throttle-group","id":"tg-vol-00000000000000abc","limits":{"iops-total":0,"bps-total":0}}',
      '-blockdev',
      '{"driver":"throttle","node-name":"vol-00000000000000abc-thr","throttle-group":"tg-vol-00000000000000abc","file":{"driver":"raw","node-name":"vol-00000000000000abc-fmt","discard":"unmap","file":{"driver":"file","node-name":"vol-00000000000000abc-file","filename":"/pools/raw/vol-00000000000000abc.img","discard":"unmap"}}}',
      '-device', 'virtio-blk-pci,id=vol-00000000000000abc,drive=vol-00000000000000abc-thr,serial=vol00000000000000abc,bus=pci.0,addr=0x18',
    ]);
    // The serial is what virtio-blk keeps: 20 characters.
    expect('vol0123456789abcdef0').toHaveLength(20);
  });

  it('leaves every other device where it was: a machine with volumes is the machine without them, plus them', () => {
    const without = buildQemuArgs({ spec: base, image, layout, accel: 'tcg', seed: true, guestAgent: true, incoming: true });
    const withVolumes = buildQemuArgs({ spec: { ...base, volumes: [a] }, image, layout, accel: 'tcg', seed: true, guestAgent: true, incoming: true });
    const extra = withVolumes.slice(without.indexOf('-incoming'), withVolumes.indexOf('-incoming'));
    expect(extra.filter((_, i) => i % 2 === 0)).toEqual(['-object', '-blockdev', '-device']);
    expect([...withVolumes.slice(0, without.indexOf('-incoming')), ...withVolumes.slice(withVolumes.indexOf('-incoming'))]).toEqual(without);
    // Nothing placed automatically has an addr: the volumes' slots are theirs alone.
    expect(without.filter((x) => x.includes('addr='))).toEqual([]);
    expect(buildQemuArgs({ spec: base, image, layout, accel: 'tcg' }).join(' ')).not.toMatch(/throttle|vol-/);
  });

  it('refuses a spec whose volumes could break out of an argument', () => {
    const bad = (v: unknown) => () => validateGuestSpec({ ...base, volumes: [v] });
    expect(bad({ ...a, id: 'vol-1,x=y' })).toThrow(/volume id must match/);
    expect(bad({ ...a, source: { ...a.source, path: 'relative/file' } })).toThrow(/absolute, normalised/);
    expect(bad({ ...a, source: { ...a.source, path: '/pools/a\nb' } })).toThrow(/absolute, normalised/);
    expect(bad({ ...a, source: { ...a.source, format: 'vmdk' } })).toThrow(/qcow2 or raw/);
    expect(bad({ ...a, slot: 0x05 })).toThrow(/slot must be one of 0x18–0x1f/);
    expect(() => validateGuestSpec({ ...base, volumes: [a, { ...b, source: a.source }] })).toThrow(/attached once/);
    expect(validateGuestSpec({ ...base, volumes: [a] }).volumes).toEqual([a]);
    expect(validateGuestSpec({ ...base, volumes: [] }).volumes).toBeUndefined();
  });
});

describe('macAddress', () => {
  it('is stable, locally administered and unicast, and differs per NIC and guest', () => {
    expect(macAddress('web-1', 0)).toBe(macAddress('web-1', 0));
    expect(macAddress('web-1', 0)).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(new Set([macAddress('web-1', 0), macAddress('web-1', 1), macAddress('web-2', 0)]).size).toBe(3);
  });
});
