'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert } from '../ui/field';
import { roleReason, type Instance } from './format';
import { sshCommand } from './ssh-command';

export function CopyCommand({ command, label }: { command: string; label: string }) {
  return (
    <span className="flex flex-wrap items-center gap-2">
      <code className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs select-all" aria-label={label}>
        {command}
      </code>
      <Button variant="ghost" className="px-2 py-1 text-xs" aria-label={`Copy: ${label}`} onClick={() => void navigator.clipboard?.writeText(command)}>
        Copy
      </Button>
    </span>
  );
}

/**
 * How to get into the guest: the exact SSH command once a host port reaches
 * its port 22 (or a button that makes that forward), and what the guest OS
 * reports about itself through its agent.
 */
export function GuestAccess({ instance, loginUser, guestAgent }: { instance: Instance; loginUser: string | null; guestAgent: boolean }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const live = instance.state !== 'terminated';
  const forwards = useQuery({
    ...trpc.portForwards.list.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    refetchInterval: live ? 10_000 : false,
  });
  const info = useQuery({
    ...trpc.instances.guestInfo.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    enabled: guestAgent && instance.state === 'running',
    refetchInterval: 10_000,
  });
  const [error, setError] = useState<string | null>(null);
  const forward = useMutation(
    trpc.portForwards.create.mutationOptions({
      onMutate: () => setError(null),
      onError: (e) => setError(describeError(e).message),
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.portForwards.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      },
    }),
  );
  const ssh = (forwards.data ?? []).find((f) => f.guestPort === 22);
  const g = info.data;
  return (
    <div className="space-y-4 text-sm">
      <FormAlert message={error} />
      {!loginUser ? (
        <p className="text-slate-600">This image has no SSH login; use the console.</p>
      ) : ssh ? (
        <div className="space-y-1">
          <CopyCommand command={sshCommand(ssh, loginUser, instance.keyName)} label="SSH command" />
          <p className="text-xs text-slate-500">
            {instance.keyName
              ? `Logs in as ${loginUser} with the key pair ${instance.keyName}; for an imported key, give -i the path of your own private key.`
              : `No key pair was given at launch: ${loginUser} has no key to log in with. Use the console, or launch again with a key pair.`}
          </p>
        </div>
      ) : live ? (
        <div className="flex flex-wrap items-center gap-3">
          <p className="text-slate-600">No host port reaches this guest’s SSH port (22) yet.</p>
          <Button
            variant="secondary"
            busy={forward.isPending}
            disabledReason={roleReason(tenant.role)}
            onClick={() => forward.mutate({ tenantId: tenant.id, instanceId: instance.id, guestPort: 22 })}
          >
            Forward a host port to SSH
          </Button>
        </div>
      ) : null}
      {guestAgent ? (
        <div aria-live="polite">
          {instance.state !== 'running' ? null : g ? (
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1" aria-label="Reported by the guest agent">
              <dt className="text-slate-500">Guest OS</dt>
              <dd>{g.osName ?? '—'}{g.kernel ? ` (kernel ${g.kernel})` : ''}</dd>
              <dt className="text-slate-500">Host name</dt>
              <dd>{g.hostname ?? '—'}</dd>
              <dt className="text-slate-500">Addresses</dt>
              <dd>
                {g.interfaces.length
                  ? g.interfaces.map((n) => (
                      <span key={n.name} className="mr-3 inline-block font-mono text-xs">
                        {n.name}: {[...n.ipv4, ...n.ipv6].join(', ') || 'none'}
                      </span>
                    ))
                  : '—'}
              </dd>
            </dl>
          ) : (
            <p role="status" className="text-slate-500">
              {info.isFetching && !info.data ? 'Asking the guest agent…' : 'The guest agent has not answered yet (the guest may still be booting).'}
            </p>
          )}
        </div>
      ) : null}
    </div>
  );
}
