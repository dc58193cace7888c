// Pure pieces of the QEMU driver: how QMP events and the way QEMU went away
// become Cirrus guest events, plus small waiting and file helpers.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GuestEvent, StopReason } from '../types';
import type { QmpEventMessage } from './qmp-wire';

export interface ShutdownInfo {
  /** true when the guest itself powered off (QMP SHUTDOWN "guest"). */
  guest: boolean;
  reason: string;
}

export function shutdownOf(e: QmpEventMessage): ShutdownInfo {
  return { guest: e.data?.guest === true, reason: String(e.data?.reason ?? '') };
}

/** The guest event a QMP event means, if any. STOP during a shutdown is not a pause. */
export function guestEventOf(id: string, e: QmpEventMessage, shuttingDown: boolean): GuestEvent | null {
  const at = e.timestamp ? new Date(e.timestamp.seconds * 1000 + Math.floor(e.timestamp.microseconds / 1000)) : new Date();
  switch (e.event) {
    case 'RESET':
      return { type: 'reset', id, at };
    case 'STOP':
      return shuttingDown ? null : { type: 'paused', id, at };
    case 'RESUME':
      return { type: 'resumed', id, at };
    default:
      return null;
  }
}

/**
 * Why QEMU went away: forced by Cirrus → killed; the guest powered off →
 * guest-shutdown; a host-side SHUTDOWN (signal, quit) → killed; no SHUTDOWN
 * at all (segfault, kill -9, OOM killer) → crashed.
 */
export function stopReasonOf(forced: boolean, shutdown: ShutdownInfo | null): StopReason {
  if (forced) return 'killed';
  if (shutdown?.guest) return 'guest-shutdown';
  if (shutdown) return 'killed';
  return 'crashed';
}

/** The last `maxBytes` of a file as UTF-8 ('' when it does not exist). */
export async function readTail(file: string, maxBytes: number): Promise<string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); // a log: never read through a link
  } catch {
    return '';
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const r = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return r;
}

export async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

/** Poll an async condition until it holds (true), `gone` settles or time runs out (false). */
export async function waitUntilAsync(cond: () => Promise<boolean>, ms: number, gone?: Promise<void>): Promise<boolean> {
  const until = Date.now() + ms;
  let ended = false;
  void gone?.then(() => (ended = true));
  while (Date.now() < until && !ended) {
    if (await cond()) return true;
    await sleep(200);
  }
  return !ended && (await cond());
}
