// Small host-side helpers: start a daemonizing QEMU, and tell whether a pid
// is still our QEMU (not a zombie, not a recycled pid).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Run QEMU with `-daemonize`: the foreground process exits once the guest is
 * set up (0) or failed (non-zero, reason on stderr). argv only, no shell.
 */
export function spawnDaemonized(binary: string, args: string[], timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 8192) stderr += b.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binary} did not daemonize within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${binary} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
    });
  });
}

/** The pid in a QEMU pid file, or null. */
export function readPidFile(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Is `pid` a live process whose command line mentions `marker` (the guest's
 * own pid-file path, so a recycled pid never passes)? Zombies count as dead.
 */
export function isOurProcessAlive(pid: number, marker: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(marker);
  } catch {
    return false;
  }
}

/** utime + stime of a process in milliseconds, and its resident memory in KiB. */
export function processUsage(pid: number): { cpuTimeMs: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command: index 0 is state (field 3); utime is field 14, stime 15.
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  // Linux reports in USER_HZ, which is 100 on every mainstream build.
  return { cpuTimeMs: ticks * 10, rssKiB: rss?.[1] ? Number(rss[1]) : 0 };
}

/** The process ids under `pid` (children, their children, …), from /proc. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${task}/children`, 'latin1').trim();
        for (const k of kids ? kids.split(' ').map(Number) : []) {
          out.push(k);
          queue.push(k);
        }
      } catch {
        // The task ended meanwhile.
      }
    }
  }
  return out;
}

/**
 * How far a process under `pid` (QEMU's migration helper) has read `file`:
 * the position of its open descriptor on it, or null when none has it open.
 */
export function readerOffset(pid: number, file: string): number | null {
  for (const p of descendants(pid)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${p}/fd/${fd}`) !== file) continue;
        const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/fdinfo/${fd}`, 'latin1'));
        if (pos?.[1]) return Number(pos[1]);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return null;
}
