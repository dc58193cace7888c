'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';

const REFRESH_MS = 5_000;

/** Whether the page is visible (thumbnails stop refreshing in a background tab). */
function usePageVisible(): boolean {
  const [visible, setVisible] = useState(true);
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === 'visible');
    update();
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

/**
 * A small, current picture of a running instance's screen, refreshed every
 * few seconds while the page is visible; it links to the console.
 */
export function ScreenThumbnail({ tenantId, slug, instanceId, name, running }: { tenantId: string; slug: string; instanceId: string; name: string; running: boolean }) {
  const visible = usePageVisible();
  const [tick, setTick] = useState(() => Date.now());
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!running || !visible) return;
    const t = setInterval(() => setTick(Date.now()), REFRESH_MS);
    return () => clearInterval(t);
  }, [running, visible]);
  if (!running) return <span className="block h-12 w-20 rounded bg-slate-100" aria-hidden />;
  const src = `/api/instances/${instanceId}/screenshot?tenantId=${tenantId}&t=${Math.floor(tick / REFRESH_MS)}`;
  return (
    <Link href={`/t/${slug}/instances/${instanceId}/console`} className="block h-12 w-20 overflow-hidden rounded border border-slate-200 bg-black" title={`Open the console of ${name}`}>
      {failed ? (
        <span className="flex h-full items-center justify-center text-[10px] text-slate-300">no picture</span>
      ) : (
        // A plain img: the route is authorized by the session cookie and changes every few seconds.
        // eslint-disable-next-line @next/next/no-img-element
        <img src={src} alt={`Screen of ${name}`} width={80} height={48} className="h-full w-full object-cover" onError={() => setFailed(true)} onLoad={() => setFailed(false)} />
      )}
    </Link>
  );
}
