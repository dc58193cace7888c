'use client';

import { useMutation } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { closeVerdict, failuresAfter, retryDelay, socketUrl, ticketVerdict } from './reconnect';
import { ReplayChannel } from './replay-channel';

export type ConsoleKind = 'vnc' | 'serial';

export type SessionStatus =
  | { phase: 'connecting' }
  | { phase: 'connected' }
  /** Closed; the next try (with a new ticket) is at `retryAt`. */
  | { phase: 'retrying'; reason: string; retryAt: number }
  /** Closed for good: asking again will not help. */
  | { phase: 'refused'; reason: string };

/**
 * Hands an open connection to the viewer (noVNC, xterm). It calls `connected`
 * when the session is usable and returns what to do when the connection ends.
 */
export type AttachViewer = (channel: ReplayChannel, connected: () => void) => () => void;

type Options = {
  instanceId: string;
  kind: ConsoleKind;
  /** False while the instance is not running (or the user may not open consoles): nothing is tried. */
  enabled: boolean;
  attach: AttachViewer;
  /** Asked before every retry; resolves false when the instance no longer runs (and so no ticket is asked for). */
  stillRunning: () => Promise<boolean>;
};

/**
 * One console session that keeps itself open: ticket → WebSocket → viewer,
 * and after any close a new ticket after 1 s, 2 s, 4 s, … at most 30 s.
 */
export function useConsoleSession({ instanceId, kind, enabled, attach, stillRunning }: Options) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const { mutateAsync: requestTicket } = useMutation(trpc.console.ticket.mutationOptions());
  const [status, setStatus] = useState<SessionStatus>({ phase: 'connecting' });
  const [generation, setGeneration] = useState(0);
  const attachRef = useRef(attach);
  const stillRunningRef = useRef(stillRunning);
  useEffect(() => {
    attachRef.current = attach;
    stillRunningRef.current = stillRunning;
  });

  useEffect(() => {
    if (!enabled) return;
    let over = false;
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: WebSocket | null = null;
    let detach: (() => void) | null = null;

    const retryLater = (reason: string) => {
      const delay = retryDelay(failures++);
      setStatus({ phase: 'retrying', reason, retryAt: Date.now() + delay });
      timer = setTimeout(() => void tryAgain(), delay);
    };

    async function tryAgain() {
      if (!(await stillRunningRef.current()) || over) return;
      await connect();
    }

    async function connect() {
      setStatus({ phase: 'connecting' });
      let path: string;
      try {
        ({ path } = await requestTicket({ tenantId: tenant.id, instanceId, kind }));
      } catch (err) {
        if (over) return;
        const code = err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
        const verdict = ticketVerdict(code, describeError(err).message);
        if (verdict.retry) retryLater(verdict.message);
        else setStatus({ phase: 'refused', reason: verdict.message });
        return;
      }
      if (over) return;
      const ws = new WebSocket(socketUrl(window.location, path));
      socket = ws;
      const channel = new ReplayChannel(ws);
      let connectedAt = 0;
      // A refusal is a close right after the handshake, before any byte of the
      // guest: VNC waits for the guest's greeting; a serial port may stay silent.
      const ready = () => {
        if (over || detach) return;
        detach = attachRef.current(channel, () => {
          connectedAt = Date.now();
          setStatus({ phase: 'connected' });
        });
      };
      ws.addEventListener(kind === 'vnc' ? 'message' : 'open', ready, { once: true });
      ws.addEventListener('close', (e) => {
        detach?.();
        detach = null;
        socket = null;
        if (over) return;
        failures = failuresAfter(failures, connectedAt ? Date.now() - connectedAt : 0);
        const verdict = closeVerdict(e.code, e.reason);
        if (verdict.retry) retryLater(verdict.message);
        else setStatus({ phase: 'refused', reason: verdict.message });
      });
    }

    void connect();
    return () => {
      over = true;
      clearTimeout(timer);
      detach?.();
      detach = null;
      if (socket && socket.readyState < WebSocket.CLOSING) socket.close(1000, 'Closed by the user.');
      socket = null;
    };
  }, [enabled, generation, tenant.id, instanceId, kind, requestTicket]);

  /** Skip the wait: a new try now, with the backoff starting over. */
  const reconnectNow = useCallback(() => setGeneration((g) => g + 1), []);
  return { status: enabled ? status : null, reconnectNow };
}
