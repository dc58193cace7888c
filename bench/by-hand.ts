// A guest started by hand: the driver's own argv (buildQemuArgs), run as root
// with none of the driver's jail, for benches that compare Cirrus with plain QEMU
// or need a listener Cirrus never opens. density.ts and console-overhead.ts.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { GuestImage } from '../server/hypervisor/images/catalog';
import { buildQemuArgs } from '../server/hypervisor/qemu/args';
import type { GuestLayout } from '../server/hypervisor/qemu/layout';
import { isOurProcessAlive, readPidFile, startQemu, waitForPidFile } from '../server/hypervisor/qemu/process';
import type { Acceleration, GuestSpec } from '../server/hypervisor/types';

const run = promisify(execFile);

/** Make the guest's disk over its image and start QEMU; resolves once QEMU runs (its pid file). `edit` may change the argv first. */
export async function startByHand(spec: GuestSpec, image: GuestImage, layout: GuestLayout, accel: Acceleration, edit: (args: string[]) => string[] = (a) => a): Promise<void> {
  mkdirSync(layout.runDir, { recursive: true, mode: 0o700 });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.diskPath, layout.disk, `${spec.diskGiB}G`]);
  const args = edit(buildQemuArgs({ spec, image, layout, accel, paused: false }));
  await waitForPidFile(startQemu({ binary: 'qemu-system-x86_64', args, logFile: layout.qemuLog, cwd: layout.dir, runAs: null }), layout.pidFile, layout.qemuLog);
}

/** Kill every guest's QEMU at once, then wait (up to 5 s each) until each is gone. */
export async function stopByHand(layouts: GuestLayout[]): Promise<void> {
  for (const l of layouts) {
    const pid = readPidFile(l.pidFile);
    if (pid !== null && isOurProcessAlive(pid, l.pidFile)) process.kill(pid, 'SIGKILL');
  }
  for (const l of layouts) {
    const pid = readPidFile(l.pidFile);
    const until = Date.now() + 5_000;
    while (pid !== null && isOurProcessAlive(pid, l.pidFile) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
}
