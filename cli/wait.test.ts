import { describe, expect, it } from 'vitest';
import type { Instance } from './api';
import { judge, Progress, waitForState, type Target } from './wait';

const inst = (id: string, state: string, stateReason: string | null = null) => ({ id, name: `vm-${id}`, state, stateReason }) as unknown as Instance;

/** A clock that moves only when the wait sleeps, and a server that answers from a script of states per poll. */
function scripted(states: Record<string, string[]>) {
  let t = 0;
  const polls: Record<string, number> = {};
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    get: async (id: string) => {
      const n = (polls[id] = (polls[id] ?? 0) + 1);
      const script = states[id]!;
      return inst(id, script[Math.min(n, script.length - 1)]!, script[Math.min(n, script.length - 1)] === 'error' ? 'QEMU exited' : null);
    },
  };
}

function stream(isTTY = false) {
  const lines: string[] = [];
  return { lines, out: { isTTY, write: (s: string) => lines.push(s) } };
}

describe('judge', () => {
  it('is done at the target, waits through transitions, and fails on error or another settled state', () => {
    expect(judge(inst('a', 'running'), 'running')).toEqual({ done: true });
    expect(judge(inst('a', 'starting'), 'running')).toEqual({ done: false, failure: null });
    const err = judge(inst('a', 'error', 'QEMU exited'), 'running');
    expect(!err.done && err.failure?.exitCode).toBe(1);
    expect(!err.done && err.failure?.message).toBe('vm-a (a) went into the error state: QEMU exited.');
    const other = judge(inst('a', 'stopped'), 'running');
    expect(!other.done && other.failure?.exitCode).toBe(6);
    for (const [state, target] of [['terminating', 'terminated'], ['stopping', 'stopped'], ['pending', 'running']] as [string, Target][]) {
      expect(judge(inst('a', state), target)).toEqual({ done: false, failure: null });
    }
  });
});

describe('waiting for a state', () => {
  it('prints each state change once with the seconds since it began', async () => {
    const s = scripted({ a: ['pending', 'pending', 'starting', 'starting', 'running'] });
    const { lines, out } = stream();
    const [r] = await waitForState([inst('a', 'pending')], { target: 'running', timeoutMs: 60_000, pollMs: 1000, progress: new Progress(out), ...s });
    expect(r!.failure).toBeNull();
    expect(r!.instance!.state).toBe('running');
    expect(lines).toEqual(['a  pending  (0 s)\n', 'a  starting  (2 s)\n', 'a  running  (4 s)\n']);
  });

  it('draws a spinner only on a terminal, and clears it', async () => {
    const s = scripted({ a: ['stopping', 'stopping', 'stopped'] });
    const tty = stream(true);
    await waitForState([inst('a', 'stopping')], { target: 'stopped', timeoutMs: 60_000, pollMs: 240, progress: new Progress(tty.out), ...s });
    expect(tty.lines.some((l) => l.startsWith('\r\x1b[2K⠋ 0 s  a stopping'))).toBe(true);
    // The spinner is wiped before the line that says it got there.
    expect(tty.lines.slice(-2)).toEqual(['\r\x1b[2K', 'a  stopped  (0 s)\n']);
    const plain = stream(false);
    await waitForState([inst('b', 'stopping')], { target: 'stopped', timeoutMs: 60_000, pollMs: 240, progress: new Progress(plain.out), ...scripted({ b: ['stopping', 'stopped'] }) });
    expect(plain.lines.join('')).not.toContain('\x1b');
  });

  it('gives each instance its own result: one reached, one failed, one timed out', async () => {
    const s = scripted({ a: ['starting', 'running'], b: ['starting', 'error'], c: ['starting'] });
    const results = await waitForState([inst('a', 'starting'), inst('b', 'starting'), inst('c', 'starting')], {
      target: 'running',
      timeoutMs: 5000,
      pollMs: 1000,
      progress: new Progress(stream().out),
      ...s,
    });
    expect(results.map((r) => [r.id, r.failure?.exitCode ?? 0])).toEqual([['a', 0], ['b', 1], ['c', 7]]);
    expect(results[2]!.failure!.message).toBe('Timed out after 5 s waiting for vm-c (c) to be running; it is starting. The server carries on: see `cirrus instances get c`.');
  });

  it('is over at once when the action already got there', async () => {
    const s = scripted({ a: ['terminated'] });
    const [r] = await waitForState([inst('a', 'terminated')], { target: 'terminated', timeoutMs: 1000, progress: new Progress(stream().out), ...s });
    expect(r!.failure).toBeNull();
    expect(s.now()).toBe(0);
  });
});
