'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';
import { plainConsoleText, type Instance } from './format';

// The guest exists (and writes to its console) from the first boot on; before that there is nothing to ask for.
const NOT_YET: Instance['state'][] = ['pending', 'starting'];
const LIVE: Instance['state'][] = ['starting', 'running', 'stopping'];

/**
 * The tail of the guest's serial console, polled while the guest runs. It
 * follows new output unless the reader has scrolled up to look at something.
 */
export function SerialLog({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const live = LIVE.includes(instance.state);
  const notYet = NOT_YET.includes(instance.state) && !instance.launchedAt;
  const gone = instance.state === 'terminated';
  const log = useQuery({
    ...trpc.instances.serialLog.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    enabled: !notYet && !gone,
    refetchInterval: live ? 2_000 : false,
    staleTime: live ? 0 : 5_000,
  });
  const ref = useRef<HTMLPreElement>(null);
  const following = useRef(true);
  const text = plainConsoleText(log.data?.text ?? '');

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  // Fetch once more when the guest stops, to show its last words.
  const { refetch } = log;
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void refetch();
    wasLive.current = live;
  }, [live, refetch]);

  return (
    <div className="space-y-2">
      {log.error ? <FormAlert message={describeError(log.error).message} /> : null}
      <pre
        ref={ref}
        role="log"
        aria-label="Serial log"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 16;
        }}
        className="h-80 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap break-all text-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500"
      >
        {text ||
          (gone
            ? 'The guest is gone, and its console output with it.'
            : notYet
              ? 'The console appears once the guest has started.'
              : log.isPending
                ? 'Loading…'
                : 'No output yet.')}
      </pre>
      <p className="text-xs text-slate-500">
        {live
          ? 'Updates every 2 seconds while the instance runs.'
          : gone
            ? 'Terminated instances keep their details and events, not their console.'
            : 'The instance is not running; this is its last output, if any.'}
      </p>
    </div>
  );
}
