// QMP, layer 3: typed commands, named after what they do. Only the fields
// Cirrus reads are typed; see QEMU's QAPI schema for the rest.
import type { ExecuteOptions } from './qmp-wire';

export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T>;
}

export interface QmpStatus {
  running: boolean;
  /** QEMU RunState: running, paused, shutdown, prelaunch, internal-error, … */
  status: string;
}

export interface QmpBlockStats {
  device: string;
  qdev?: string;
  stats: { rd_bytes: number; wr_bytes: number; rd_operations: number; wr_operations: number };
}

export interface QmpCpuInfo {
  'cpu-index': number;
  'thread-id': number;
}

export const qmp = {
  status: (m: QmpExecutor) => m.execute<QmpStatus>('query-status'),
  /** Press the ACPI power button. */
  powerdown: (m: QmpExecutor) => m.execute<void>('system_powerdown'),
  reset: (m: QmpExecutor) => m.execute<void>('system_reset'),
  stop: (m: QmpExecutor) => m.execute<void>('stop'),
  cont: (m: QmpExecutor) => m.execute<void>('cont'),
  quit: (m: QmpExecutor) => m.execute<void>('quit', undefined, { timeoutMs: 3_000 }),
  /** Write the current screen to `filename` as PNG (QEMU ≥ 7.1). */
  screendump: (m: QmpExecutor, filename: string) => m.execute<void>('screendump', { filename, format: 'png' }),
  cpus: (m: QmpExecutor) => m.execute<QmpCpuInfo[]>('query-cpus-fast'),
  blockstats: (m: QmpExecutor) => m.execute<QmpBlockStats[]>('query-blockstats'),
  memorySummary: (m: QmpExecutor) => m.execute<{ 'base-memory': number }>('query-memory-size-summary'),
  version: (m: QmpExecutor) =>
    m.execute<{ qemu: { major: number; minor: number; micro: number } }>('query-version'),
};
