'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { RouterOutputs } from '@/server/trpc/root';
import { describeError, useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { ConfirmButton } from '../../ui/confirm-button';

type AdminUser = RouterOutputs['admin']['users']['list']['items'][number];
type Result = { text: string; tone: 'error' | 'success' };

/** Grant or revoke admin, disable (asks first) or enable one user. Refusals come back as readable sentences. */
export function UserActions({ user, isSelf, onResult }: { user: AdminUser; isSelf: boolean; onResult: (r: Result) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = { onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.admin.users.pathKey() }) };
  const setAdmin = useMutation(trpc.admin.users.setAdmin.mutationOptions(refresh));
  const disable = useMutation(trpc.admin.users.disable.mutationOptions(refresh));

  async function run(action: () => Promise<unknown>, done: string) {
    try {
      await action();
      onResult({ text: done, tone: 'success' });
    } catch (err) {
      onResult({ text: describeError(err).message, tone: 'error' });
    }
  }

  const disabled = Boolean(user.disabledAt);
  // `relative`: the sr-only disabled reason is absolutely positioned; without a positioned
  // ancestor inside the table's scroll frame it escapes it and widens the page on phones.
  return (
    <div className="relative flex flex-wrap gap-2">
      <Button
        variant="secondary"
        aria-label={`${user.isAdmin ? 'Revoke admin' : 'Make admin'} ${user.email}`}
        busy={setAdmin.isPending}
        onClick={() =>
          run(
            () => setAdmin.mutateAsync({ userId: user.id, isAdmin: !user.isAdmin }),
            user.isAdmin ? `${user.email} is no longer an admin.` : `${user.email} is now an admin.`,
          )
        }
      >
        {user.isAdmin ? 'Revoke admin' : 'Make admin'}
      </Button>
      {disabled ? (
        <Button
          variant="secondary"
          aria-label={`Enable ${user.email}`}
          busy={disable.isPending}
          onClick={() => run(() => disable.mutateAsync({ userId: user.id, disabled: false }), `${user.email} can sign in again.`)}
        >
          Enable
        </Button>
      ) : (
        <ConfirmButton
          aria-label={`Disable ${user.email}`}
          question={`Disable ${user.email}? Their sessions and API tokens stop working.`}
          confirmLabel="Disable"
          busy={disable.isPending}
          disabledReason={isSelf ? 'You cannot disable your own account.' : undefined}
          onConfirm={() => run(() => disable.mutateAsync({ userId: user.id, disabled: true }), `${user.email} is disabled.`)}
        >
          Disable
        </ConfirmButton>
      )}
    </div>
  );
}
