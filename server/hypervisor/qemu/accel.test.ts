import { afterEach, describe, expect, it } from 'vitest';
import { buildKvmProbeArgs, probeAcceleration } from './accel';

const saved = process.env.CIRRUS_QEMU_ACCEL;
afterEach(() => {
  if (saved === undefined) delete process.env.CIRRUS_QEMU_ACCEL;
  else process.env.CIRRUS_QEMU_ACCEL = saved;
});

describe('KVM probe', () => {
  it('boots the real kernel with the accelerator and CPU model guests get', () => {
    expect(buildKvmProbeArgs('/img/vmlinux')).toEqual([
      '-nodefaults', '-no-user-config',
      '-machine', 'pc', '-accel', 'kvm', '-cpu', 'host',
      '-m', '128', '-display', 'none',
      '-kernel', '/img/vmlinux',
      '-append', 'console=ttyS0 panic=-1',
      '-serial', 'stdio', '-no-reboot',
    ]);
  });

  it('falls back to TCG, saying why, when there is nothing to boot or QEMU cannot run', async () => {
    delete process.env.CIRRUS_QEMU_ACCEL;
    const noKernel = await probeAcceleration({ qemuBinary: 'qemu-system-x86_64', kernelPath: null });
    expect(noKernel.accel).toBe('tcg');
    expect(noKernel.reason).toMatch(/kvm|kernel/i);
    const noQemu = await probeAcceleration({ qemuBinary: '/nonexistent/qemu', kernelPath: '/nonexistent/vmlinux' });
    expect(noQemu.accel).toBe('tcg');
  });

  it('honours CIRRUS_QEMU_ACCEL', async () => {
    process.env.CIRRUS_QEMU_ACCEL = 'tcg';
    expect(await probeAcceleration({ qemuBinary: 'x', kernelPath: null })).toMatchObject({ accel: 'tcg', reason: 'CIRRUS_QEMU_ACCEL' });
  });
});
