'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert } from '../ui/field';
import { LinkButton } from '../ui/link-button';
import { Card } from '../ui/page';
import { formatMoment, formatSize, type Instance } from './format';
import { InstanceActions } from './instance-actions';
import { InstanceEvents } from './instance-events';
import { GuestAccess } from './guest-access';
import { InstanceInterfaces } from './instance-interfaces';
import { InstanceMonitoring } from './instance-monitoring';
import { PortForwards } from './port-forwards';
import { SerialLog } from './serial-log';
import { OperationProgress } from './operation-progress';
import { Snapshots } from './snapshots';
import { InstanceVolumes } from './instance-volumes';
import { CloneForm } from './clone-form';
import { ImageForm } from './image-form';
import { ResizeForm } from './resize-form';
import { StateBadge } from './state-badge';
import { useLiveInstance } from './use-live-instance';

function When({ at }: { at: Date | null }) {
  return at ? <time dateTime={at.toISOString()} title={at.toISOString()}>{formatMoment(at)}</time> : <>—</>;
}

function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="grid gap-x-6 gap-y-3 text-sm sm:grid-cols-2">
      {items.map(([term, value]) => (
        <div key={term} className="min-w-0">
          <dt className="text-slate-500">{term}</dt>
          <dd className="break-words text-slate-900">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The interactive screen and serial terminal pages; not for an instance that has no guest (yet, or any more). */
function ConsoleLinks({ base, state }: { base: string; state: Instance['state'] }) {
  const why =
    state === 'terminated'
      ? 'This instance is terminated.'
      : state === 'pending'
        ? 'The guest has not been created yet.'
        : state === 'suspended'
          ? 'A suspended instance has no screen or console: resume it first.'
          : null;
  const links = [
    { path: 'console', label: 'Open console' },
    { path: 'serial', label: 'Open serial console' },
  ];
  return (
    <nav aria-label="Consoles" className="flex flex-wrap gap-2">
      {links.map((l) =>
        why ? (
          <Button key={l.path} variant="secondary" disabledReason={why}>
            {l.label}
          </Button>
        ) : (
          <LinkButton key={l.path} variant="secondary" href={`${base}/${l.path}`}>
            {l.label}
          </LinkButton>
        ),
      )}
    </nav>
  );
}

/** Where a clone came from: its source (a link) and the snapshot, linked or full. */
function ClonedFrom({ instance: i, slug }: { instance: Instance; slug: string }) {
  return (
    <>
      <Link className="font-mono text-sky-800 hover:underline" href={`/t/${slug}/instances/${i.cloneOfInstanceId}`}>
        {i.cloneOfInstanceId}
      </Link>
      {i.cloneOfSnapshotId ? <>, snapshot <code className="font-mono">{i.cloneOfSnapshotId}</code></> : null}
      {i.cloneLinked ? ' (linked)' : ' (full copy)'}
    </>
  );
}

/** One instance: what it is, what it is doing, what you may do with it, what happened and what it printed. */
export function InstanceDetail({ instanceId }: { instanceId: string }) {
  const tenant = useTenant();
  const trpc = useTRPC();
  const query = useLiveInstance(instanceId, 1_500);
  const images = useQuery(trpc.images.list.queryOptions({ tenantId: tenant.id }));
  const back = (
    <Link href={`/t/${tenant.slug}/instances`} className="text-sm text-sky-800 hover:underline">
      ← Instances
    </Link>
  );
  if (query.error) {
    return (
      <div className="space-y-4">
        {back}
        <h1 className="text-2xl font-semibold text-slate-900">Instance {instanceId}</h1>
        <FormAlert message={describeError(query.error).message} />
      </div>
    );
  }
  const i = query.data;
  const image = images.data?.find((img) => img.id === i?.imageId);
  if (!i) return <p role="status">Loading instance…</p>;
  const tags = Object.entries(i.tags ?? {});
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        {back}
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold break-all text-slate-900">{i.name}</h1>
          <span role="status" aria-label="State" className="inline-flex">
            <StateBadge state={i.state} />
          </span>
        </div>
        {i.stateReason ? <p className={`text-sm ${i.state === 'error' ? 'text-red-700' : 'text-slate-700'}`}>{i.stateReason}</p> : null}
        <OperationProgress instance={i} />
        {i.state === 'suspended' && i.savedStateMiB !== null ? (
          <p className="text-sm text-slate-700">
            Suspended: its running state ({i.savedStateMiB} MiB) is saved on its host; its vCPUs and memory are not billed until it resumes.
          </p>
        ) : null}
        {i.state === 'terminated' ? (
          <p className="text-sm text-slate-600">This instance is terminated. Its page stays for the record; nothing can be changed.</p>
        ) : null}
        <div className="flex flex-wrap items-start gap-x-6 gap-y-2">
          <InstanceActions instance={i} />
          <ConsoleLinks base={`/t/${tenant.slug}/instances/${i.id}`} state={i.state} />
        </div>
      </div>
      <Card title="Details">
        <Facts
          items={[
            ['ID', <code key="id" className="font-mono">{i.id}</code>],
            ['Size', formatSize(i)],
            ['Image', image ? `${image.name} (${i.imageId})` : i.imageId],
            ['Host', i.hostName ?? '—'],
            ['Key pair', i.keyName ?? '—'],
            ...(i.spreadGroup ? ([['Spread group', i.spreadGroup]] as [string, ReactNode][]) : []),
            ...(i.autoRecover ? ([['High availability', 'Auto-recover: restarts on another host if its host fails']] as [string, ReactNode][]) : []),
            ...(i.cloneOfInstanceId ? ([['Cloned from', <ClonedFrom key="cf" instance={i} slug={tenant.slug} />]] as [string, ReactNode][]) : []),
            ['Tags', tags.length ? tags.map(([k, v]) => (
              <span key={k} className="mr-1 mb-1 inline-block rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">{v ? `${k}=${v}` : k}</span>
            )) : '—'],
            ['Created', <When key="c" at={i.createdAt} />],
            ['Launched', <When key="l" at={i.launchedAt} />],
            ['State changed', <When key="s" at={i.stateChangedAt} />],
            ['Terminated', <When key="t" at={i.terminatedAt} />],
          ]}
        />
      </Card>
      <Card title="Monitoring" description="CPU, memory, disk and network of the guest, sampled on its host while it runs.">
        <InstanceMonitoring instance={i} />
      </Card>
      <Card title="Network interfaces" description="Each interface’s network, address and rate, and the traffic it has carried.">
        <InstanceInterfaces instance={i} />
      </Card>
      {image && (image.loginUser || image.features.guestAgent) ? (
        <Card title="Log in" description="SSH into the guest through a port of this Cirrus host, and what the guest reports about itself.">
          <GuestAccess instance={i} loginUser={image.loginUser} guestAgent={image.features.guestAgent} />
        </Card>
      ) : null}
      <Card title="Port forwards" description="A port of this Cirrus host that reaches a TCP port of the guest, from anywhere that reaches the host.">
        <PortForwards instance={i} loginUser={image?.loginUser ?? null} />
      </Card>
      <Card title="Snapshots" description="Points in time of this instance: its disk, or its disk and memory. Restore puts it back there; each is billed by the bytes it takes.">
        <Snapshots instance={i} />
      </Card>
      <Card title="Volumes" description="Disks of their own attached to this instance: hot-plugged while it runs, and kept with their data when it is gone.">
        <InstanceVolumes instance={i} />
      </Card>
      {i.state !== 'terminated' ? (
        <Card title="Resize" description="Change its vCPUs, memory and disk; billed at each size from the moment it has it.">
          <ResizeForm key={`${i.state}:${i.vcpus}:${i.memoryMiB}:${i.diskGiB}:${i.nics}`} instance={i} hotplug={image?.features.hotplug ?? false} />
        </Card>
      ) : null}
      {i.state !== 'terminated' ? (
        <Card title="Clone" description="A new instance whose disk starts as this one’s: as it is now, or as a snapshot holds it.">
          <CloneForm instance={i} />
        </Card>
      ) : null}
      {i.state !== 'terminated' ? (
        <Card title="Make image" description="An image of this instance’s disk that new instances of this tenant launch from.">
          <ImageForm instance={i} />
        </Card>
      ) : null}
      <Card title="Serial console" description="The guest’s serial output (the last 64 KiB).">
        <SerialLog instance={i} />
      </Card>
      <Card title="Events" description="Every change of state and every request, newest first.">
        <InstanceEvents instance={i} />
      </Card>
    </div>
  );
}
