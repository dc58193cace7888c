// KVM is used only when a real guest boots under it. On nested hosts
// /dev/kvm can exist and open fine while guests hang forever, or QEMU can
// abort on the host CPU model, and a trivial boot sector may still run. So
// the probe boots the image's own kernel with exactly the accelerator and CPU
// model real guests get (no initramfs), and waits, bounded, for the kernel to
// finish initialising and look for a root filesystem on the serial port. Anything else means TCG.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Acceleration } from '../types';

export interface AccelProbeResult {
  accel: Acceleration;
  /** Why, for logs and host info. */
  reason: string;
  ms: number;
}

export interface AccelProbeInput {
  qemuBinary: string;
  kernelPath: string | null;
  timeoutMs?: number;
}

/** The argv for the probe: pure, like buildQemuArgs. */
export function buildKvmProbeArgs(kernelPath: string): string[] {
  return [
    '-nodefaults', '-no-user-config',
    '-machine', 'pc', '-accel', 'kvm', '-cpu', 'host',
    '-m', '128', '-display', 'none',
    '-kernel', kernelPath,
    '-append', 'console=ttyS0 panic=-1',
    '-serial', 'stdio', '-no-reboot',
  ];
}

export async function probeAcceleration(input: AccelProbeInput): Promise<AccelProbeResult> {
  const started = Date.now();
  const done = (accel: Acceleration, reason: string) => ({ accel, reason, ms: Date.now() - started });
  const forced = process.env.CIRRUS_QEMU_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return done(forced, 'CIRRUS_QEMU_ACCEL');
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return done('tcg', '/dev/kvm is missing or not accessible');
  }
  if (!input.kernelPath) return done('tcg', 'no guest kernel to probe KVM with');
  const timeoutMs = input.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const child = spawn(input.qemuBinary, buildKvmProbeArgs(input.kernelPath as string), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const finish = (accel: Acceleration, reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      child.unref();
      resolve(done(accel, reason));
    };
    const timer = setTimeout(() => finish('tcg', `KVM guest printed nothing within ${timeoutMs} ms (nested KVM hang)`), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      // Only a fully initialised kernel gets as far as looking for a root fs.
      if (/VFS: |Kernel panic/.test(out)) finish('kvm', 'a KVM guest booted its kernel to the end of init');
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString('latin1')));
    child.on('error', (e) => finish('tcg', `cannot run ${input.qemuBinary}: ${e.message}`));
    child.on('exit', (code, signal) => {
      const why = err.trim().split('\n').pop() ?? '';
      finish('tcg', `KVM guest exited early (${signal ?? code})${why ? `: ${why}` : ''}`);
    });
  });
}
