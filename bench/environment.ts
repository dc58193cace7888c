// What a benchmark's figures were measured on: the machine, the accelerator
// guests get, and the code. Printed before the figures, so a number is never
// read without them.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { probeAcceleration } from '../server/hypervisor/qemu/accel';
import { DEFAULT_IMAGE_ID, ImageCatalog } from '../server/hypervisor/images/catalog';
import { testImagesDir } from '../server/hypervisor/qemu/test-support';

const quiet = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};

export async function environment(): Promise<{ label: string; value: string }[]> {
  const cpus = os.cpus();
  let kernelPath: string | null = null;
  try {
    const catalog = new ImageCatalog(testImagesDir());
    kernelPath = catalog.find(DEFAULT_IMAGE_ID)?.kernelPath ?? null;
  } catch {
    kernelPath = null;
  }
  const accel = await probeAcceleration({ qemuBinary: 'qemu-system-x86_64', kernelPath });
  const commit = quiet('git', ['rev-parse', '--short=12', 'HEAD']);
  const dirty = quiet('git', ['status', '--porcelain', '--untracked-files=no']);
  return [
    { label: 'machine', value: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, ${os.type()} ${os.release()}` },
    { label: 'accelerator', value: `${accel.accel} (${accel.reason})` },
    { label: 'qemu', value: quiet('qemu-system-x86_64', ['--version'])?.split('\n')[0] ?? 'not installed' },
    { label: 'node', value: process.version },
    { label: 'commit', value: commit ? `${commit}${dirty ? ' with uncommitted changes' : ''}` : 'not a git checkout' },
  ];
}
