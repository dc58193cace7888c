// The serial log is QEMU's chardev logfile, opened O_APPEND (logappend=on)
// so Cirrus can cut it while QEMU writes: it is emptied at each start, and
// when it passes a cap its tail moves to serial.log.1 and it starts over. A
// chatty guest therefore never fills the disk. (Bytes written in the instant
// between copying the tail and truncating are lost; it is a log.)
import { readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { readTail } from './events';

export const SERIAL_LOG_CAP = 4 * 1024 * 1024;
export const SERIAL_LOG_KEEP = 256 * 1024;

export interface SerialLogFiles {
  serialLog: string;
  serialLogOld: string;
}

/** Empty the log before QEMU starts, so it holds this boot only. */
export function resetSerialLog(files: SerialLogFiles): void {
  rmSync(files.serialLogOld, { force: true });
  writeFileSync(files.serialLog, '', { mode: 0o600 });
}

/** If the log is over `cap`, keep its last `keep` bytes in serial.log.1 and empty it. */
export function capSerialLog(files: SerialLogFiles, cap = SERIAL_LOG_CAP, keep = SERIAL_LOG_KEEP): boolean {
  let size: number;
  try {
    size = statSync(files.serialLog).size;
  } catch {
    return false;
  }
  if (size <= cap) return false;
  const buf = readFileSync(files.serialLog);
  writeFileSync(files.serialLogOld, buf.subarray(Math.max(0, buf.length - keep)), { mode: 0o600 });
  truncateSync(files.serialLog, 0);
  return true;
}

/** The last `maxBytes` of the log across a rotation. */
export async function readSerialLog(files: SerialLogFiles, maxBytes: number): Promise<string> {
  const recent = await readTail(files.serialLog, maxBytes);
  const recentBytes = Buffer.byteLength(recent);
  if (recentBytes >= maxBytes) return recent;
  return (await readTail(files.serialLogOld, maxBytes - recentBytes)) + recent;
}
