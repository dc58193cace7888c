// Small host-side helpers: start QEMU detached from the server, and tell
// whether a pid is still our QEMU (not a zombie, not a recycled pid).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { runAsArgv, type GuestUser } from '../isolation/users';

const QEMU_ENV: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export interface QemuProcess {
  pid: number;
  /** Settles when the process ends while this server still has it as a child. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>;
}

/**
 * Start QEMU (argv only, no shell) in a session of its own, so it outlives
 * the server; without `-daemonize`, so it never has to fork (its seccomp
 * filter forbids that). Its output goes to `logFile`. With `user`, setpriv
 * starts it as that user with no capabilities. The umask is 077 for the
 * instant of the fork, so every file and socket QEMU makes is its user's alone.
 */
export function startQemu(opts: { binary: string; args: string[]; logFile: string; cwd: string; runAs: { setpriv: string; user: GuestUser } | null }): QemuProcess {
  const [command, argv] = opts.runAs ? runAsArgv(opts.runAs.setpriv, opts.runAs.user, opts.binary, opts.args) : [opts.binary, opts.args];
  rmSync(opts.logFile, { force: true });
  // A new file (never through a link someone planted), appended to, so the driver can cut it (capLog) under QEMU.
  const log = openSync(opts.logFile, 'ax', 0o600);
  const mask = process.umask(0o077);
  let child: ChildProcess;
  try {
    // Nothing of the server's environment (its database URL and session secret are there): QEMU gets a PATH and a locale.
    child = spawn(command, argv, { stdio: ['ignore', log, log], detached: true, cwd: opts.cwd, env: QEMU_ENV as NodeJS.ProcessEnv });
  } finally {
    process.umask(mask);
    closeSync(log);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: null, error: `cannot run ${command}: ${e.message}` }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.unref();
  if (child.pid === undefined) return { pid: -1, exited };
  return { pid: child.pid, exited };
}

/**
 * The pid QEMU writes to `pidFile` once it runs, or why it ended first (its
 * own words, from `logFile`).
 */
export async function waitForPidFile(proc: QemuProcess, pidFile: string, logFile: string, timeoutMs = 30_000): Promise<number> {
  let ended: Awaited<QemuProcess['exited']> | null = null;
  void proc.exited.then((x) => (ended = x));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pid = readPidFile(pidFile);
    if (pid !== null && isOurProcessAlive(pid, pidFile)) return pid;
    if (ended) {
      const e = ended as Awaited<QemuProcess['exited']>;
      let said = '';
      try {
        said = readFileSync(logFile, 'utf8').trim().slice(-2000);
      } catch {
        // No log: the reason is the exit alone.
      }
      throw new Error(e.error ?? `QEMU exited (${e.signal ?? `code ${e.code}`}): ${said || 'no message'}`);
    }
    if (Date.now() > until) throw new Error(`QEMU wrote no pid file within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
