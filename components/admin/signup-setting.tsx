'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { describeError, useTRPC } from '../trpc/client';
import { FormAlert } from '../ui/field';

export function SignupSetting() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settings = useQuery(trpc.admin.settings.get.queryOptions());
  const [error, setError] = useState<string | null>(null);
  const set = useMutation(
    trpc.admin.settings.setSignupEnabled.mutationOptions({
      onSuccess: (_data, vars) => {
        queryClient.setQueryData(trpc.admin.settings.get.queryKey(), (old) => (old ? { ...old, signupEnabled: vars.enabled } : old));
        void queryClient.invalidateQueries({ queryKey: trpc.admin.settings.get.queryKey() });
      },
      onError: (e) => setError(describeError(e).message),
    }),
  );
  if (!settings.data) return <p role="status">Loading settings…</p>;
  // While the change is on its way the switch shows what was asked for.
  const enabled = set.isPending ? set.variables.enabled : settings.data.signupEnabled;
  return (
    <div className="space-y-3">
      <FormAlert message={error} />
      <label className="flex items-center gap-3 text-sm">
        <input
          type="checkbox"
          role="switch"
          aria-checked={enabled}
          checked={enabled}
          disabled={set.isPending}
          onChange={(e) => {
            setError(null);
            set.mutate({ enabled: e.target.checked });
          }}
          className="size-4"
        />
        Anyone can create an account (self sign-up)
      </label>
      <p className="text-xs text-slate-500">
        {enabled ? 'The sign-up page is open.' : 'The sign-up page is closed; only existing users can sign in.'}
      </p>
    </div>
  );
}
