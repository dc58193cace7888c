'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { createPortForwardInput } from '@/server/network/validation';
import type { RouterOutputs } from '@/server/trpc/root';
import { whyNotChangeInstanceNetwork, whyNotUseNic } from '../networks/network-rules';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import { useFieldErrors } from '../ui/field-errors';
import { FormAlert, SelectField, TextField } from '../ui/field';
import { DataTable } from '../ui/table';
import { roleReason, type Instance } from './format';
import { CopyCommand } from './guest-access';
import { sshCommand } from './ssh-command';
import { useInstanceInterfaces, type Nic } from './instance-interfaces';
import { toNumber } from './size-fields';

type PortForward = RouterOutputs['portForwards']['list'][number];
const KEYS = ['guestPort', 'hostPort', 'interfaceId'] as const;


/** Why no port forward can be made to this NIC of `instanceName` (the server's rule, with the host's note), or undefined. */
function whyNotForward(nic: Nic | undefined, instanceName: string): string | undefined {
  if (!nic) return undefined;
  const why = whyNotUseNic(nic, 'Port forwards', instanceName);
  if (why) return `${why} ${nic.note ?? ''}`.trim();
  if (!nic.address) return `${nic.name} has no address.`;
  return undefined;
}

/** Host ports that reach a TCP port of the guest: the list, a form for another, and delete. */
export function PortForwards({ instance, loginUser }: { instance: Instance; loginUser: string | null }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({
    ...trpc.portForwards.list.queryOptions({ tenantId: tenant.id, instanceId: instance.id }),
    refetchInterval: instance.state === 'terminated' ? false : 10_000,
  });
  const nics = (useInstanceInterfaces(instance).data ?? []).filter((n) => !n.releasedAt);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.portForwards.pathKey() });
  const [notice, setNotice] = useState<string | null>(null);
  const remove = useMutation(
    trpc.portForwards.delete.mutationOptions({
      onMutate: () => setNotice(null),
      onSuccess: () => setNotice('The port forward was deleted.'),
      onSettled: () => {
        void refresh();
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      },
    }),
  );
  const roleNo = roleReason(tenant.role);
  const forwards = list.data ?? [];
  return (
    <div className="space-y-4">
      <FormAlert tone="success" message={notice} />
      {remove.error ? <FormAlert message={describeError(remove.error).message} /> : null}
      {list.isPending ? <p role="status">Loading port forwards…</p> : null}
      {list.error ? <FormAlert message={describeError(list.error).message} /> : null}
      {list.data && forwards.length === 0 ? <p className="text-sm text-slate-600">No port of this instance is forwarded.</p> : null}
      {forwards.length > 0 ? (
        <DataTable<PortForward>
          caption={`Port forwards of ${instance.name}`}
          rowKey={(f) => f.id}
          rows={forwards}
          columns={[
            {
              header: 'Forward',
              cell: (f) => (
                <span className="whitespace-nowrap">
                  <code className="font-mono text-xs">{f.endpoint}</code>
                  <span aria-label="to"> → </span>
                  <code className="font-mono text-xs">
                    {f.guestAddress ?? '—'}:{f.guestPort}
                  </code>
                  <span className="ml-1 text-xs text-slate-500">(eth{f.position})</span>
                </span>
              ),
            },
            {
              header: 'Connect',
              cell: (f) =>
                f.guestPort === 22 ? (
                  <CopyCommand command={sshCommand(f, loginUser, instance.keyName)} label={`SSH command for ${f.endpoint}`} />
                ) : (
                  <span className="text-xs text-slate-600">TCP to {f.endpoint}</span>
                ),
            },
            {
              header: 'Actions',
              cell: (f) => (
                <ConfirmButton
                  aria-label={`Delete port forward ${f.endpoint}`}
                  question={`Stop forwarding ${f.endpoint} to port ${f.guestPort}?`}
                  confirmLabel="Delete"
                  disabledReason={roleNo}
                  busy={remove.isPending && remove.variables?.portForwardId === f.id}
                  onConfirm={() => remove.mutate({ tenantId: tenant.id, portForwardId: f.id })}
                >
                  Delete
                </ConfirmButton>
              ),
            },
          ]}
        />
      ) : null}
      <PortForwardForm
        instance={instance}
        nics={nics}
        onDone={(f) => {
          setNotice(`${f.endpoint} now reaches port ${f.guestPort} of ${instance.name} (${f.guestAddress}).`);
          void refresh();
        }}
      />
    </div>
  );
}

function PortForwardForm({ instance, nics, onDone }: { instance: Instance; nics: Nic[]; onDone: (f: PortForward) => void }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(trpc.portForwards.create.mutationOptions());
  const range = useQuery(trpc.portForwards.range.queryOptions({ tenantId: tenant.id }));
  const [guestPort, setGuestPort] = useState('');
  const [hostPort, setHostPort] = useState('');
  const [chosenNic, setNic] = useState<string | null>(null);
  const { errors, setErrors, clear, fromServer, fromIssues } = useFieldErrors(KEYS);
  const [formError, setFormError] = useState<string | null>(null);
  const nic = nics.find((n) => n.id === chosenNic) ?? nics[0];
  const notAllowed = roleReason(tenant.role) ?? whyNotChangeInstanceNetwork(instance) ?? whyNotForward(nic, instance.name);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    const parsed = createPortForwardInput.safeParse({
      instanceId: instance.id,
      guestPort: toNumber(guestPort),
      hostPort: hostPort.trim() === '' ? undefined : toNumber(hostPort),
      interfaceId: nic?.id,
    });
    if (!parsed.success) {
      fromIssues(parsed.error.issues);
      return;
    }
    setErrors({});
    try {
      const made = await create.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      setGuestPort('');
      setHostPort('');
      onDone(made);
    } catch (err) {
      const { message, onField } = fromServer(err);
      if (!onField) setFormError(message);
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Add port forward" className="space-y-3 border-t border-slate-100 pt-4">
      <h3 className="text-sm font-semibold text-slate-900">Add a port forward</h3>
      <FormAlert message={formError} />
      <div className={`grid gap-4 ${nics.length > 1 ? 'sm:grid-cols-3' : 'sm:grid-cols-2'}`}>
        <TextField
          label="Guest port"
          name="guestPort"
          type="number"
          inputMode="numeric"
          min={1}
          max={65_535}
          required
          placeholder="22"
          value={guestPort}
          onChange={(e) => {
            clear('guestPort');
            setGuestPort(e.target.value);
          }}
          error={errors.guestPort}
          hint="The TCP port the guest listens on."
        />
        <TextField
          label="Host port"
          name="hostPort"
          type="number"
          inputMode="numeric"
          min={range.data?.from ?? 1}
          max={range.data?.to ?? 65_535}
          value={hostPort}
          onChange={(e) => {
            clear('hostPort');
            setHostPort(e.target.value);
          }}
          error={errors.hostPort}
          hint={
            range.data
              ? `Optional: from ${range.data.from} to ${range.data.to}; leave it empty for the first free one.`
              : 'Optional: leave it empty for a free port of the range the administrators set.'
          }
        />
        {nics.length > 1 ? (
          <SelectField
            label="Network interface"
            name="interfaceId"
            value={nic?.id ?? ''}
            options={nics.map((n) => ({ value: n.id, label: `${n.name} · ${n.address ?? 'no address'} (${n.networkName})` }))}
            onChange={(e) => {
              clear('interfaceId');
              setNic(e.target.value);
            }}
            error={errors.interfaceId}
          />
        ) : null}
      </div>
      <Button type="submit" busy={create.isPending} disabledReason={notAllowed}>
        Add port forward
      </Button>
    </form>
  );
}
