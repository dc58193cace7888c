// Restore taps removed under a running QEMU (see retap.py for how): the
// guest keeps its process, memory and NIC; only the host's device comes back.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TAP_PATTERN } from '../spec';

const run = promisify(execFile);
// Resolved when used, from the repository root Cirrus runs in (as the migrations are):
// Next bundles this module for route handlers, where it is never called.
const helper = () => path.join(process.cwd(), 'server', 'hypervisor', 'qemu', 'retap.py');

/** `taps` in NIC order; returns those re-created. */
export async function restoreDetachedTaps(pid: number, taps: string[]): Promise<string[]> {
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`bad pid ${pid}`);
  for (const t of taps) if (!TAP_PATTERN.test(t)) throw new Error(`not a Cirrus tap: ${t}`);
  const { stdout } = await run('python3', [helper(), String(pid), ...taps], { timeout: 10_000 });
  return stdout.split('\n').filter((l) => TAP_PATTERN.test(l));
}
