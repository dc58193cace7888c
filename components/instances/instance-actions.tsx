'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { whyNot } from '@/server/instances/can';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { roleReason, type Instance } from './format';

/** Start / Stop / Force stop / Reboot / Suspend / Resume / Terminate, each disabled with the reason it can't be done now. */
export function InstanceActions({ instance }: { instance: Instance }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const roleNo = roleReason(tenant.role);
  const reason = (action: Parameters<typeof whyNot>[0]) => roleNo ?? whyNot(action, instance.state) ?? undefined;
  const options = {
    onMutate: () => setError(null),
    onError: (err: unknown) => setError(describeError(err).message),
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() }),
  };
  const start = useMutation(trpc.instances.start.mutationOptions(options));
  const stop = useMutation(trpc.instances.stop.mutationOptions(options));
  const reboot = useMutation(trpc.instances.reboot.mutationOptions(options));
  const suspend = useMutation(trpc.instances.suspend.mutationOptions(options));
  const resume = useMutation(trpc.instances.resume.mutationOptions(options));
  const suspended = instance.state === 'suspended';
  const terminate = useMutation(
    trpc.instances.terminate.mutationOptions({
      ...options,
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      },
    }),
  );
  const ids = { tenantId: tenant.id, instanceId: instance.id };
  const forcing = stop.isPending && stop.variables?.force === true;
  return (
    <div className="space-y-2">
      <div role="group" aria-label="Instance actions" className="flex flex-wrap items-center gap-2">
        <Button variant="secondary" disabledReason={reason('start')} busy={start.isPending} onClick={() => start.mutate(ids)}>
          Start
        </Button>
        {suspended ? (
          <ConfirmButton
            question={`Stop ${instance.name} and discard its saved state? It boots from its disk next time; what was in its memory is lost.`}
            confirmLabel="Discard and stop"
            disabledReason={reason('stop')}
            busy={stop.isPending}
            onConfirm={() => stop.mutate(ids)}
          >
            Stop
          </ConfirmButton>
        ) : (
          <Button variant="secondary" disabledReason={reason('stop')} busy={stop.isPending && !forcing} onClick={() => stop.mutate(ids)}>
            Stop
          </Button>
        )}
        <ConfirmButton
          question={`Cut the power of ${instance.name} without waiting for it to shut down?`}
          confirmLabel="Force stop"
          disabledReason={suspended ? 'A suspended instance has nothing running to power off.' : reason('stop')}
          busy={forcing}
          title="Cut the power without waiting for the guest to shut down."
          onConfirm={() => stop.mutate({ ...ids, force: true })}
        >
          Force stop
        </ConfirmButton>
        <Button variant="secondary" disabledReason={reason('reboot')} busy={reboot.isPending} onClick={() => reboot.mutate(ids)}>
          Reboot
        </Button>
        <Button
          variant="secondary"
          disabledReason={reason('suspend')}
          busy={suspend.isPending}
          title="Save its memory to disk and release its vCPUs and memory; resume goes on from there."
          onClick={() => suspend.mutate(ids)}
        >
          Suspend
        </Button>
        <Button variant="secondary" disabledReason={reason('resume')} busy={resume.isPending} onClick={() => resume.mutate(ids)}>
          Resume
        </Button>
        <ConfirmButton
          question={`Terminate ${instance.name}? Its disk and snapshots are deleted.`}
          confirmLabel="Terminate"
          disabledReason={reason('terminate')}
          busy={terminate.isPending}
          onConfirm={() => terminate.mutate(ids)}
        >
          Terminate
        </ConfirmButton>
      </div>
      <FormAlert message={error} />
    </div>
  );
}
