'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { whyNot } from '@/server/instances/can';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { ConfirmButton } from '../ui/confirm-button';
import { FormAlert } from '../ui/field';
import { roleReason, type Instance } from './format';

type BulkAction = 'stop' | 'terminate';
const done: Record<BulkAction, string> = { stop: 'asked to stop', terminate: 'asked to terminate' };

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * Stop or terminate the selected instances, one request each. Rows that can't
 * (by the same rules the server uses) are skipped; refusals are counted, with
 * the first sentence shown.
 */
export function BulkActions({ selected, onDone }: { selected: Instance[]; onDone: () => void }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [report, setReport] = useState<{ text: string; tone: 'error' | 'success' } | null>(null);
  const stop = useMutation(trpc.instances.stop.mutationOptions());
  const terminate = useMutation(trpc.instances.terminate.mutationOptions());
  const [running, setRunning] = useState<BulkAction | null>(null);

  async function run(action: BulkAction) {
    setRunning(action);
    setReport(null);
    const mutation = action === 'stop' ? stop : terminate;
    let ok = 0;
    const refused: string[] = [];
    for (const i of selected) {
      const why = whyNot(action, i.state);
      if (why) {
        refused.push(`${i.name}: ${why}`);
        continue;
      }
      try {
        await mutation.mutateAsync({ tenantId: tenant.id, instanceId: i.id });
        ok++;
      } catch (err) {
        refused.push(describeError(err).message);
      }
    }
    setRunning(null);
    await queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
    if (action === 'terminate') void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    const first = refused[0] ? ` (${refused[0]}${refused.length > 1 ? ' …' : ''})` : '';
    setReport({
      text: `${plural(ok, 'instance')} ${done[action]}; ${refused.length} refused${first}.`,
      tone: refused.length ? 'error' : 'success',
    });
    onDone();
  }

  const none = selected.length === 0 ? 'Select instances in the table first.' : undefined;
  const disabledReason = roleReason(tenant.role) ?? none;
  const count = plural(selected.length, 'instance');
  return (
    <div className="space-y-2">
      <div role="group" aria-label="Bulk actions" className="flex flex-wrap items-center gap-2">
        <span className="text-sm text-slate-600" aria-live="polite">
          {selected.length ? `${count} selected` : 'None selected'}
        </span>
        <ConfirmButton
          question={`Stop ${count}?`}
          confirmLabel="Stop"
          disabledReason={disabledReason}
          busy={running === 'stop'}
          onConfirm={() => void run('stop')}
        >
          Stop selected
        </ConfirmButton>
        <ConfirmButton
          question={`Terminate ${count}? Their disks are deleted.`}
          confirmLabel="Terminate"
          disabledReason={disabledReason}
          busy={running === 'terminate'}
          onConfirm={() => void run('terminate')}
        >
          Terminate selected
        </ConfirmButton>
      </div>
      <FormAlert message={report?.text} tone={report?.tone} />
    </div>
  );
}
