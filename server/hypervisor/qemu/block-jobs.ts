// QMP for a running guest's disk chain: external snapshots and the jobs that
// merge a snapshot's data into the files above it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateProgress } from '../types';
import type { QmpExecutor } from './qmp-commands';

export interface NamedNode {
  'node-name': string;
  /** The image file (for format nodes, the qcow2 it reads). */
  file: string;
  drv: string;
}

export interface QmpJob {
  id: string;
  status: string;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

/** The guest's root disk, as -drive named it. */
export const ROOT_DEVICE = 'disk0';

export const block = {
  /** Freeze the active file as it is and make a new overlay at `file` the one the guest writes to. */
  snapshotSync: (m: QmpExecutor, file: string) =>
    m.execute<void>('blockdev-snapshot-sync', { device: ROOT_DEVICE, 'snapshot-file': file, format: 'qcow2', mode: 'absolute-paths' }),
  namedNodes: (m: QmpExecutor) => m.execute<NamedNode[]>('query-named-block-nodes', { flat: true }),
  /** Copy into `node` the data of every file between it and `baseNode` (which becomes its backing); without a base, of its whole chain (it then stands alone). */
  stream: (m: QmpExecutor, jobId: string, node: string, baseNode: string | null) =>
    m.execute<void>('block-stream', { 'job-id': jobId, device: node, ...(baseNode ? { 'base-node': baseNode } : {}), 'auto-dismiss': false }),
  jobs: (m: QmpExecutor) => m.execute<QmpJob[]>('query-jobs'),
  dismiss: (m: QmpExecutor, id: string) => m.execute<void>('job-dismiss', { id }),
};

/** The qcow2 node reading `file`, in a running guest's graph; null when it is not in its chain. */
export async function nodeOf(m: QmpExecutor, file: string): Promise<string | null> {
  const nodes = await block.namedNodes(m);
  return nodes.find((n) => n.drv === 'qcow2' && n.file === file)?.['node-name'] ?? null;
}

/** Wait for a job to conclude, passing its progress on; throws with QEMU's error. */
export async function waitForJob(m: QmpExecutor, id: string, opts: { onProgress?: (p: StateProgress) => void; timeoutMs: number }): Promise<void> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const job = (await block.jobs(m)).find((j) => j.id === id);
    if (!job) return; // dismissed already (a retried wait)
    if (job['total-progress'] > 0) opts.onProgress?.({ doneBytes: job['current-progress'], totalBytes: job['total-progress'] });
    if (job.status === 'concluded') {
      await block.dismiss(m, id);
      if (job.error) throw new Error(`job ${id} failed: ${job.error}`);
      return;
    }
    if (Date.now() > until) throw new Error(`job ${id} still ${job.status} after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(200);
  }
}
