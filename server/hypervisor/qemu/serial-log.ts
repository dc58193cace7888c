// The serial log is QEMU's chardev logfile, opened O_APPEND (logappend=on)
// so Cirrus can cut it while QEMU writes: it is emptied at each start, and
// when it passes a cap its tail moves to serial.log.1 and it starts over. A
// chatty guest therefore never fills the disk. (Bytes written in the instant
// between copying the tail and truncating are lost; it is a log.)
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { readTail } from './events';

export const SERIAL_LOG_CAP = 4 * 1024 * 1024;
export const SERIAL_LOG_KEEP = 256 * 1024;
/** QEMU's own output (errors at start; later only what a guest escaped into it would write). */
export const QEMU_LOG_CAP = 1024 * 1024;

export interface SerialLogFiles {
  serialLog: string;
  serialLogOld: string;
}

/** Empty the log before QEMU starts, so it holds this boot only (a new file: never written through a link). */
export function resetSerialLog(files: SerialLogFiles): void {
  rmSync(files.serialLogOld, { force: true });
  rmSync(files.serialLog, { force: true });
  closeSync(openSync(files.serialLog, 'wx', 0o600));
}

/**
 * If the log is over `cap`, keep its last `keep` bytes in serial.log.1 and
 * empty it. Only the tail is read (the guest decides the file's size: it can
 * make it a sparse gigabyte), and nothing is opened through a link.
 */
export function capSerialLog(files: SerialLogFiles, cap = SERIAL_LOG_CAP, keep = SERIAL_LOG_KEEP): boolean {
  let fd: number;
  try {
    fd = openSync(files.serialLog, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size <= cap) return false;
    const len = Math.min(keep, st.size);
    const tail = Buffer.alloc(len);
    readSync(fd, tail, 0, len, st.size - len);
    rmSync(files.serialLogOld, { force: true });
    const old = openSync(files.serialLogOld, 'wx', 0o600);
    try {
      writeSync(old, tail);
    } finally {
      closeSync(old);
    }
    ftruncateSync(fd, 0);
    return true;
  } finally {
    closeSync(fd);
  }
}

/** The last `maxBytes` of the log across a rotation. */
export async function readSerialLog(files: SerialLogFiles, maxBytes: number): Promise<string> {
  const recent = await readTail(files.serialLog, maxBytes);
  const recentBytes = Buffer.byteLength(recent);
  if (recentBytes >= maxBytes) return recent;
  return (await readTail(files.serialLogOld, maxBytes - recentBytes)) + recent;
}

/** Empty a log the writer appends to once it passes `cap` (opened without following a link). Whether it was cut. */
export function capLog(file: string, cap: number): boolean {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size <= cap) return false;
    ftruncateSync(fd, 0);
    return true;
  } finally {
    closeSync(fd);
  }
}
