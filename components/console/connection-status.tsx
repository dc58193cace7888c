'use client';

import { useEffect, useState } from 'react';
import { Button } from '../ui/button';
import type { SessionStatus } from './use-console-session';

function secondsUntil(at: number, now: number) {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "Reconnecting in 4 s", counting down from when it is shown. */
function Countdown({ until }: { until: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  return <span className="text-slate-500">Reconnecting in {secondsUntil(until, now)} s</span>;
}

/**
 * Connecting / Connected / Disconnected with the reason. The countdown to the
 * next try sits outside the live region so screen readers are not told every second.
 */
export function ConnectionStatus({ status, onReconnect }: { status: SessionStatus | null; onReconnect: () => void }) {
  const retryAt = status?.phase === 'retrying' ? status.retryAt : null;

  const tone =
    status?.phase === 'connected'
      ? 'bg-emerald-500'
      : status?.phase === 'connecting'
        ? 'bg-amber-500 animate-pulse'
        : 'bg-red-600';
  const text = !status
    ? 'Disconnected'
    : status.phase === 'connecting'
      ? 'Connecting…'
      : status.phase === 'connected'
        ? 'Connected'
        : `Disconnected: ${status.reason}`;
  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      <span aria-hidden className={`size-2 shrink-0 rounded-full ${tone}`} />
      <p role="status" aria-label="Connection" className="min-w-0 break-words text-slate-800">
        {text}
      </p>
      {retryAt !== null ? (
        <>
          <Countdown key={retryAt} until={retryAt} />
          <Button variant="secondary" className="px-2 py-1" onClick={onReconnect}>
            Reconnect now
          </Button>
        </>
      ) : null}
      {status?.phase === 'refused' ? (
        <Button variant="secondary" className="px-2 py-1" onClick={onReconnect}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}
