import { describe, expect, it } from 'vitest';
import { closeVerdict, failuresAfter, retryDelay, socketUrl, ticketVerdict } from './reconnect';

describe('retryDelay', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(retryDelay)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('failuresAfter', () => {
  it('starts the backoff over only after a session that lasted', () => {
    expect(failuresAfter(3, 0)).toBe(3);
    expect(failuresAfter(3, 2_000)).toBe(3);
    expect(failuresAfter(3, 10_000)).toBe(0);
  });
});

describe('closeVerdict', () => {
  it('keeps the server’s reason and retries what a new ticket can fix', () => {
    expect(closeVerdict(4401, 'This console link has expired or was already used. Open the console again.')).toEqual({
      retry: true,
      message: 'This console link has expired or was already used. Open the console again.',
    });
    expect(closeVerdict(4429, 'You already have 4 console sessions open, the most allowed. Close one and try again.').retry).toBe(true);
    expect(closeVerdict(4410, 'The instance stopped.')).toEqual({ retry: true, message: 'The instance stopped.' });
    expect(closeVerdict(4503, '').message).toBe('The hypervisor is not available.');
    expect(closeVerdict(1001, 'Cirrus is restarting; reconnect in a moment.').retry).toBe(true);
  });
  it('gives up when access was removed', () => {
    expect(closeVerdict(4403, 'You no longer have access to this instance’s console.')).toEqual({
      retry: false,
      message: 'You no longer have access to this instance’s console.',
    });
  });
  it('says something readable for codes without a reason', () => {
    expect(closeVerdict(1006, '')).toEqual({ retry: true, message: 'The connection was lost.' });
    expect(closeVerdict(1011, '').message).toBe('The connection closed (code 1011).');
  });
});

describe('ticketVerdict', () => {
  it('stops on refusals and retries the rest', () => {
    expect(ticketVerdict('FORBIDDEN', 'This needs the member role in X; you are a viewer.').retry).toBe(false);
    expect(ticketVerdict('NOT_FOUND', 'Instance was not found.').retry).toBe(false);
    expect(ticketVerdict('CONFLICT', 'The console opens only while the instance runs; web is stopped.').retry).toBe(true);
    expect(ticketVerdict(undefined, 'Cirrus could not be reached.').retry).toBe(true);
  });
});

describe('socketUrl', () => {
  it('follows the page’s scheme and host', () => {
    expect(socketUrl({ protocol: 'http:', host: 'localhost:3100' }, '/api/console/ws?ticket=abc')).toBe('ws://localhost:3100/api/console/ws?ticket=abc');
    expect(socketUrl({ protocol: 'https:', host: 'cirrus.example' }, '/api/console/ws?ticket=abc')).toBe('wss://cirrus.example/api/console/ws?ticket=abc');
  });
});
