// `--wait`: poll each instance until it reaches the state its action leads
// to. Progress goes to stderr: a line per state change with the seconds since
// the wait began, and a spinner only on a terminal. The error state, another
// settled state or the timeout end the wait for that instance with a reason.
import type { Instance } from './api';
import { CliError, EXIT } from './exit-codes';

export type Target = 'running' | 'stopped' | 'terminated';

/** States an instance rests in until someone acts; every other state is on its way somewhere. */
const SETTLED = new Set(['running', 'stopped', 'suspended', 'terminated', 'error']);

export type Verdict = { done: true } | { done: false; failure: CliError | null };

/** Whether a wait for `target` is over: reached, failed (and why), or still going. */
export function judge(inst: Pick<Instance, 'id' | 'name' | 'state' | 'stateReason'>, target: Target): Verdict {
  if (inst.state === target) return { done: true };
  const why = inst.stateReason ? `: ${inst.stateReason}` : '';
  if (inst.state === 'error') return { done: false, failure: new CliError(`${inst.name} (${inst.id}) went into the error state${why}.`, EXIT.unexpected) };
  if (SETTLED.has(inst.state)) {
    return { done: false, failure: new CliError(`${inst.name} (${inst.id}) is ${inst.state}, not ${target}${why}.`, EXIT.conflict) };
  }
  return { done: false, failure: null };
}

export type Stream = { write(text: string): unknown; isTTY?: boolean };

const SPIN_MS = 120;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** State changes as lines; on a terminal, one spinner line under them that is redrawn in place. */
export class Progress {
  private last = new Map<string, string>();
  private frame = 0;
  private spinning = false;

  constructor(private readonly out: Stream) {}

  /** Record what an instance is now; prints a line when it changed. */
  update(inst: Pick<Instance, 'id' | 'state'>, seconds: number): void {
    if (this.last.get(inst.id) === inst.state) return;
    this.last.set(inst.id, inst.state);
    this.clear();
    this.out.write(`${inst.id}  ${inst.state}  (${seconds} s)\n`);
  }

  /** Redraw the spinner with who is still on its way (terminal only). */
  tick(waiting: readonly string[], seconds: number): void {
    if (!this.out.isTTY || waiting.length === 0) return;
    const who = waiting.map((id) => `${id} ${this.last.get(id) ?? ''}`.trim()).join(', ');
    this.out.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${seconds} s  ${who}`);
    this.spinning = true;
  }

  clear(): void {
    if (this.spinning) this.out.write('\r\x1b[2K');
    this.spinning = false;
  }
}

export type WaitResult = { id: string; instance: Instance | null; failure: CliError | null };

export type WaitOptions = {
  target: Target;
  timeoutMs: number;
  get: (id: string) => Promise<Instance>;
  progress: Progress;
  /** How often to ask, and how often the spinner turns. */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Poll every instance in `start` (what its action returned) until each has
 * reached `target`, failed, or the timeout passed. Never throws for one
 * instance's failure: each gets its own result.
 */
export async function waitForState(start: readonly Instance[], opts: WaitOptions): Promise<WaitResult[]> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? sleepFor;
  const pollMs = opts.pollMs ?? 1000;
  const began = now();
  const seconds = () => Math.round((now() - began) / 1000);
  const results = new Map<string, WaitResult>();
  let current = new Map(start.map((i) => [i.id, i]));
  const settle = () => {
    for (const inst of current.values()) {
      if (results.has(inst.id)) continue;
      opts.progress.update(inst, seconds());
      const v = judge(inst, opts.target);
      if (v.done) results.set(inst.id, { id: inst.id, instance: inst, failure: null });
      else if (v.failure) results.set(inst.id, { id: inst.id, instance: inst, failure: v.failure });
    }
  };
  settle();
  for (;;) {
    const waiting = start.map((i) => i.id).filter((id) => !results.has(id));
    if (waiting.length === 0) break;
    if (now() - began >= opts.timeoutMs) {
      for (const id of waiting) {
        const inst = current.get(id)!;
        results.set(id, {
          id,
          instance: inst,
          failure: new CliError(
            `Timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${inst.name} (${id}) to be ${opts.target}; it is ${inst.state}. The server carries on: see \`cirrus instances get ${id}\`.`,
            EXIT.timeout,
          ),
        });
      }
      break;
    }
    // Sleep until the next poll in spinner steps (the spinner draws only on a terminal).
    const next = Math.min(now() + pollMs, began + opts.timeoutMs);
    do {
      opts.progress.tick(waiting, seconds());
      await sleep(Math.max(0, Math.min(SPIN_MS, next - now())));
    } while (now() < next);
    const fresh = await Promise.all(waiting.map((id) => opts.get(id)));
    current = new Map([...current, ...fresh.map((i) => [i.id, i] as const)]);
    settle();
  }
  opts.progress.clear();
  return start.map((i) => results.get(i.id)!);
}
