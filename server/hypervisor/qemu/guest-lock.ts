// One operation at a time per guest, across processes too (two servers, or a
// server and a job worker, on one host): an exclusive lock file per guest id
// holding the owner's pid. A lock whose owner died is taken over.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function ownerAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `<locksDir>/<id>.lock`, run `fn`, release. Waits up to `waitMs` for another holder. */
export async function withGuestFileLock<T>(locksDir: string, id: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  mkdirSync(locksDir, { recursive: true, mode: 0o700 });
  const file = path.join(locksDir, `${id}.lock`);
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = Number.NaN;
      try {
        owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      } catch {
        continue; // released meanwhile
      }
      // A lock left by a dead process (or half-written) is stale.
      if (!ownerAlive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > until) throw new Error(`guest ${id} is busy (operation held by pid ${owner})`);
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
