// Root's file operations in a directory a guest's user can write in. A QEMU
// that a guest escapes into runs as that user, and may plant a symbolic or
// hard link where the server is about to write, read or change the owner of a
// file — to have root write over /etc/passwd, hand it /etc/shadow as a
// "screenshot", or chown another guest's disk to it. So here: records are
// written under a fresh name that must not exist yet and renamed into place,
// and read only when they are root's own regular file with one link; owners
// and modes are changed on a descriptor opened without following links.
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

const OPEN_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Write `text` to `file` whole, or not at all: a new file (never through a link someone made), renamed over the old. */
export function writeRecordFile(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  // 'wx': O_CREAT|O_EXCL — fails on anything already at that name, a link included.
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * Open a file the server wrote (a saved state) for reading, only if it is its
 * own regular file with one link, never through a link: a descriptor and its size.
 */
export function openOwnFile(file: string): { fd: number; size: number } {
  const fd = openSync(file, OPEN_NO_FOLLOW);
  const st = fstatSync(fd);
  if (!st.isFile() || st.nlink !== 1 || st.uid !== (process.geteuid?.() ?? 0)) {
    closeSync(fd);
    throw new Error(`${file} is not a file this server wrote`);
  }
  return { fd, size: st.size };
}

/** A record the server wrote: read only if it is its own regular file with one link (never through a link). */
export function readRecordFile(file: string): string {
  const fd = openSync(file, OPEN_NO_FOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1 || st.uid !== (process.geteuid?.() ?? 0)) throw new Error(`${file} is not a record this server wrote`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The owner and mode a file or directory should have. */
export interface FileRule {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Give each existing file its owner and mode, on a descriptor opened without
 * following a link: a link (symbolic, or a hard link to a file elsewhere) in
 * its place is refused, not followed.
 */
export function applyFileRules(rules: FileRule[]): void {
  for (const r of rules) {
    let fd: number;
    try {
      fd = openSync(r.path, OPEN_NO_FOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'ELOOP') throw new Error(`${r.path} is a symbolic link: refusing to change its owner`);
      throw e;
    }
    try {
      const st = fstatSync(fd);
      if (st.isFile() && st.nlink !== 1) throw new Error(`${r.path} has ${st.nlink} links: refusing to change its owner`);
      if (!st.isFile() && !st.isDirectory()) throw new Error(`${r.path} is neither a file nor a directory`);
      if (st.uid !== r.uid || st.gid !== r.gid) fchownSync(fd, r.uid, r.gid);
      if ((st.mode & 0o7777) !== r.mode) fchmodSync(fd, r.mode);
    } finally {
      closeSync(fd);
    }
  }
}
