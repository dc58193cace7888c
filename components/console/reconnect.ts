// What the console does when its connection ends: wait and try again (with a
// new ticket), or stop and say why. Pure, so the rules have unit tests.

export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 30_000;

/** 1 s, 2 s, 4 s, … at most 30 s, after `failures` failed tries in a row. */
export function retryDelay(failures: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures), MAX_RETRY_MS);
}

/** A session shorter than this counts as a failed try, so a console that drops at once backs off instead of hammering. */
export const STABLE_SESSION_MS = 10_000;

/** Failed tries in a row after a session that lasted `connectedMs` (0: it never connected). */
export function failuresAfter(failures: number, connectedMs: number): number {
  return connectedMs >= STABLE_SESSION_MS ? 0 : failures;
}

export type Verdict = { retry: boolean; message: string };

/** A WebSocket close code and reason from the console proxy, as a sentence and whether another try can help. */
export function closeVerdict(code: number, reason: string): Verdict {
  const said = reason.trim();
  switch (code) {
    case 4401:
      return { retry: true, message: said || 'The console link expired.' };
    case 4403:
      // Access was removed: a new ticket would be refused too.
      return { retry: false, message: said || 'You no longer have access to this console.' };
    case 4409:
    case 4410:
      return { retry: true, message: said || 'The instance stopped.' };
    case 4429:
      return { retry: true, message: said || 'Too many console sessions are open.' };
    case 4503:
      return { retry: true, message: said || 'The hypervisor is not available.' };
    case 1001:
      return { retry: true, message: said || 'Cirrus is restarting.' };
    case 1006:
      return { retry: true, message: 'The connection was lost.' };
    default:
      return { retry: true, message: said || `The connection closed (code ${code}).` };
  }
}

/** Refusals of a ticket that asking again will not change (the tRPC code of the error). */
const FINAL_TICKET_CODES = new Set(['FORBIDDEN', 'NOT_FOUND', 'UNAUTHORIZED']);

export function ticketVerdict(trpcCode: string | undefined, message: string): Verdict {
  return { retry: !trpcCode || !FINAL_TICKET_CODES.has(trpcCode), message };
}

/** ws: or wss: + host + the ticket's path, on Cirrus's own origin. */
export function socketUrl(location: { protocol: string; host: string }, path: string): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}
