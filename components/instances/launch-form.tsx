'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { LIMITS, launchInput } from '@/server/instances/validation';
import { DEFAULT_RATE_MBIT } from '@/server/network/validation';
import { LaunchEstimate } from '../billing/launch-estimate';
import { QuotaBars } from '../quotas/quota-bars';
import { useTenant } from '../shell/tenant-context';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, SelectField, TextField } from '../ui/field';
import { LinkButton } from '../ui/link-button';
import { Card } from '../ui/page';
import { roleReason } from './format';
import { AccessFields, type AccessDraft } from './access-fields';
import { ImageFacts } from './image-facts';
import { InterfaceFields, interfaceCount, interfaceKey, resolveInterfaces, totalRate, type InterfaceDraft } from './interface-fields';
import { SizeFields, sizeFromFlavor, toNumber, type SizeDraft } from './size-fields';
import { TagsEditor, type TagRow } from './tags-editor';

type Errors = Record<string, string[] | undefined>;
const DEFAULT_IMAGE = 'cirrus-tiny-linux';
const FIELDS = ['name', 'imageId', 'vcpus', 'memoryMiB', 'diskGiB', 'nics', 'bandwidthMbit', 'interfaces', 'keyPairId', 'userData', 'maxVcpus', 'maxMemoryMiB', 'spreadGroup', 'autoRecover'];

/** A refusal's field key as the form shows it: per-NIC keys whole ("interfaces.0.networkId"), others by the part before the dot ("tags.env" → tags). */
function formKey(path: string): string | null {
  if (/^interfaces\.\d+\.(networkId|rateMbit)$/.test(path)) return path;
  const field = path.split('.')[0]!;
  return FIELDS.includes(field) || field === 'tags' ? field : null;
}

const withinLimits = (size: Record<keyof typeof LIMITS, number>) =>
  (Object.keys(LIMITS) as (keyof typeof LIMITS)[]).every((k) => Number.isInteger(size[k]) && size[k] >= LIMITS[k].min && size[k] <= LIMITS[k].max);

/** Turn tag rows into the record the API takes; rows with neither key nor value are ignored. */
function tagsOf(rows: TagRow[]): { tags: Record<string, string>; errors: Record<number, string> } {
  const tags: Record<string, string> = {};
  const errors: Record<number, string> = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (!key && !r.value) continue;
    if (!key) errors[r.id] = 'Give this tag a key, or remove it.';
    else if (key in tags) errors[r.id] = `The key ${key} is used twice.`;
    else tags[key] = r.value;
  }
  return { tags, errors };
}

export function LaunchForm() {
  const tenant = useTenant();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const notAllowed = roleReason(tenant.role);
  const images = useQuery(trpc.images.list.queryOptions({ tenantId: tenant.id }));
  const flavors = useQuery(trpc.flavors.list.queryOptions({ tenantId: tenant.id }));
  const quotas = useQuery({ ...trpc.quotas.get.queryOptions({ tenantId: tenant.id }), refetchInterval: 5_000 });
  const networks = useQuery(trpc.networks.list.queryOptions({ tenantId: tenant.id }));
  const keyPairs = useQuery(trpc.keyPairs.list.queryOptions({ tenantId: tenant.id, limit: 100 }));
  const launch = useMutation(trpc.instances.launch.mutationOptions());

  const [name, setName] = useState('');
  const [chosenImage, setImageId] = useState<string | null>(null);
  // Until the user picks a size, the smallest preset is shown.
  const [chosenSize, setSize] = useState<SizeDraft | null>(null);
  const [tagRows, setTagRows] = useState<TagRow[]>([]);
  const [room, setRoom] = useState({ maxVcpus: '', maxMemoryMiB: '' });
  const [access, setAccess] = useState<AccessDraft>({ keyPairId: '', userData: '' });
  const [spreadGroup, setSpreadGroup] = useState('');
  const [autoRecover, setAutoRecover] = useState(false);
  const [nicDrafts, setNicDrafts] = useState<InterfaceDraft[]>([]);
  // The NIC rate of the preset last picked (untyped rates follow it); until then the first preset's.
  const [presetRate, setPresetRate] = useState<number | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [tagErrors, setTagErrors] = useState<Record<number, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);

  // After a refused submit (only then: not while the user edits), take the reader to what needs fixing.
  const [refusals, setRefusals] = useState(0);
  useEffect(() => {
    const form = formRef.current;
    if (!form || refusals === 0) return;
    const field = form.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (field) field.focus();
    else form.querySelector<HTMLElement>('[role="alert"]')?.scrollIntoView({ block: 'center' });
  }, [refusals]);

  const imageList = images.data ?? [];
  const imageId = chosenImage ?? (imageList.find((i) => i.id === DEFAULT_IMAGE) ?? imageList[0])?.id ?? '';
  const image = imageList.find((i) => i.id === imageId);
  const firstFlavor = flavors.data?.[0];
  const size = chosenSize ?? (firstFlavor ? sizeFromFlavor(firstFlavor) : { vcpus: '1', memoryMiB: '256', diskGiB: '1', nics: '1' });
  const sizeNumbers = {
    vcpus: toNumber(size.vcpus) ?? 0,
    memoryMiB: toNumber(size.memoryMiB) ?? 0,
    diskGiB: toNumber(size.diskGiB) ?? 0,
    nics: toNumber(size.nics) ?? 0,
  };
  const defaultRate = presetRate ?? firstFlavor?.bandwidthMbit ?? DEFAULT_RATE_MBIT;
  const nics = resolveInterfaces(nicDrafts, interfaceCount(size.nics, LIMITS.nics.max), networks.data ?? [], defaultRate);
  const bandwidthMbit = totalRate(nics.map((n) => n.rate));
  const request = { instances: 1, ...sizeNumbers, bandwidthMbit: bandwidthMbit ?? 0 };

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    const { tags, errors: rowErrors } = tagsOf(tagRows);
    const parsed = launchInput.safeParse({
      name,
      imageId,
      vcpus: toNumber(size.vcpus),
      memoryMiB: toNumber(size.memoryMiB),
      diskGiB: toNumber(size.diskGiB),
      nics: toNumber(size.nics),
      // One entry per NIC once the count is valid (else zod speaks about the count).
      interfaces: nics.length ? nics.map((n) => ({ networkId: n.networkId, rateMbit: toNumber(n.rate) })) : undefined,
      tags,
      // Only images that run cloud-init take them (the fields are hidden for the others).
      ...(image?.features.cloudInit ? { keyPairId: access.keyPairId || undefined, userData: access.userData || undefined } : {}),
      // Only images that online hot-added vCPUs and memory have room to grow into (the fields are hidden for the others).
      ...(image?.features.hotplug ? { maxVcpus: toNumber(room.maxVcpus) ?? undefined, maxMemoryMiB: toNumber(room.maxMemoryMiB) ?? undefined } : {}),
      spreadGroup: spreadGroup.trim() || undefined,
      ...(autoRecover ? { autoRecover: true } : {}),
    });
    setTagErrors(rowErrors);
    if (!parsed.success || Object.keys(rowErrors).length) {
      const errs: Errors = {};
      for (const issue of parsed.error?.issues ?? []) {
        const key = formKey(issue.path.join('.')) ?? String(issue.path[0]);
        (errs[key] ??= []).push(issue.message);
      }
      setErrors(errs);
      setRefusals((n) => n + 1);
      return;
    }
    setErrors({});
    try {
      const instance = await launch.mutateAsync({ tenantId: tenant.id, ...parsed.data });
      void queryClient.invalidateQueries({ queryKey: trpc.instances.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
      router.push(`/t/${tenant.slug}/instances/${instance.id}`);
    } catch (err) {
      const { message, fieldErrors } = describeError(err);
      const known: Errors = {};
      for (const [k, msgs] of Object.entries(fieldErrors)) {
        const field = formKey(k);
        if (field) (known[field] ??= []).push(...msgs);
      }
      setErrors(known);
      // A refusal that belongs to no field we show goes above the form.
      if (!Object.keys(known).length) setFormError(message);
      setRefusals((n) => n + 1);
      void queryClient.invalidateQueries({ queryKey: trpc.quotas.pathKey() });
    }
  }

  // Editing a field takes its (now stale) message away.
  const clearError = (...keys: string[]) =>
    setErrors((e) => (keys.some((k) => e[k]) ? Object.fromEntries(Object.entries(e).filter(([k]) => !keys.includes(k))) : e));
  const onSize = (next: SizeDraft) => {
    clearError(...(Object.keys(next) as (keyof SizeDraft)[]).filter((k) => next[k] !== size[k]));
    const preset = flavors.data?.find((f) => (Object.keys(next) as (keyof SizeDraft)[]).every((k) => String(f[k]) === next[k].trim()));
    if (preset) {
      if (preset.bandwidthMbit !== defaultRate) clearError('bandwidthMbit');
      setPresetRate(preset.bandwidthMbit);
    }
    setSize(next);
  };
  const onInterface = (i: number, change: InterfaceDraft) => {
    clearError(...(change.networkId !== undefined ? [interfaceKey(i, 'networkId')] : [interfaceKey(i, 'rateMbit'), 'bandwidthMbit']), 'interfaces');
    setNicDrafts((drafts) => {
      const next = [...drafts];
      next[i] = { ...next[i], ...change };
      return next;
    });
  };

  const loadError = images.error ?? flavors.error ?? networks.error ?? keyPairs.error;
  const noImage = images.data?.length === 0 ? 'No image is available for launches: an administrator has disabled them, or none is built yet.' : undefined;
  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="Launch instance" className="grid gap-6 lg:grid-cols-[1fr_20rem] lg:items-start">
      <div className="space-y-6">
        <FormAlert message={formError} />
        {loadError ? <FormAlert message={describeError(loadError).message} /> : null}
        <Card title="Name and image">
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="Name" name="name" value={name} onChange={(e) => {
                clearError('name');
                setName(e.target.value);
              }} error={errors.name} autoComplete="off" required />
            <SelectField
              label="Image"
              name="imageId"
              value={imageId}
              onChange={(e) => {
                clearError('imageId');
                setImageId(e.target.value);
              }}
              options={imageList.map((i) => ({ value: i.id, label: i.captured ? `${i.name} (${i.ownerTenantId === tenant.id ? 'your image' : 'shared'})` : i.name }))}
              error={errors.imageId}
              hint={image ? undefined : images.isPending ? 'Loading images…' : noImage}
            />
          </div>
          {image ? (
            <div className="mt-4">
              <ImageFacts image={image} />
            </div>
          ) : null}
        </Card>
        <Card title="Size" description="Pick a preset, or set each number yourself.">
          {flavors.isPending ? <p role="status">Loading sizes…</p> : null}
          <SizeFields flavors={flavors.data ?? []} size={size} onChange={onSize} errors={errors} />
          {image?.features.hotplug ? (
            <fieldset className="mt-4 space-y-2">
              <legend className="text-sm font-medium text-slate-800">Room to grow into while it runs (optional)</legend>
              <p className="text-xs text-slate-600">{image.name} brings hot-added vCPUs and memory online: up to these, a resize adds them without a reboot. Only what it has is billed.</p>
              <div className="grid gap-3 sm:grid-cols-2">
                {(['maxVcpus', 'maxMemoryMiB'] as const).map((k) => (
                  <TextField
                    key={k}
                    label={k === 'maxVcpus' ? 'vCPU ceiling while running' : 'Memory ceiling while running, MiB'}
                    name={k}
                    type="number"
                    inputMode="numeric"
                    min={1}
                    value={room[k]}
                    onChange={(e) => {
                      clearError(k);
                      setRoom((r) => ({ ...r, [k]: e.target.value }));
                    }}
                    error={errors[k]}
                  />
                ))}
              </div>
            </fieldset>
          ) : null}
          <div className="mt-4 max-w-md">
            <TextField
              label="Spread group (optional)"
              name="spreadGroup"
              autoComplete="off"
              value={spreadGroup}
              onChange={(e) => {
                clearError('spreadGroup');
                setSpreadGroup(e.target.value);
              }}
              error={errors.spreadGroup}
              hint="Your instances with the same spread group run on different hosts, so one host failing stops at most one of them."
            />
          </div>
          <div className="mt-4 max-w-md">
            <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
              <input
                type="checkbox"
                name="autoRecover"
                className="size-4"
                checked={autoRecover}
                onChange={(e) => {
                  clearError('autoRecover');
                  setAutoRecover(e.target.checked);
                }}
                aria-describedby="autoRecover-hint"
                aria-invalid={errors.autoRecover ? true : undefined}
              />
              Restart on another host if its host fails (auto-recover)
            </label>
            <p id="autoRecover-hint" className="mt-1 text-xs text-slate-500">
              Its disk is kept on storage every host shares; if its host goes down, it boots again on another within about a minute. It cannot have volumes or clones, and needs a host with a shared pool.
            </p>
            {errors.autoRecover ? (
              <p className="mt-1 text-sm text-red-700" role="alert">
                {errors.autoRecover}
              </p>
            ) : null}
          </div>
        </Card>
        <Card title="Network interfaces" description="The network each interface joins and the rate it is shaped to.">
          <InterfaceFields
            networks={networks.data ?? []}
            interfaces={nics}
            onChange={onInterface}
            errors={errors}
            defaultRate={defaultRate}
            loading={networks.isPending}
          />
        </Card>
        <Card title="Access" description="A key pair to log in with over SSH, and what cloud-init does on first boot.">
          <AccessFields
            draft={access}
            onChange={(next) => {
              clearError(...Object.keys(next));
              setAccess((a) => ({ ...a, ...next }));
            }}
            keyPairs={keyPairs.data?.items ?? []}
            loading={keyPairs.isPending}
            tenantSlug={tenant.slug}
            loginUser={image?.loginUser ?? null}
            cloudInit={image?.features.cloudInit ?? false}
            imageName={image?.name ?? null}
            errors={errors}
            onFileError={(message) => setErrors((e) => ({ ...e, userData: [message] }))}
          />
        </Card>
        <Card title="Tags">
          <TagsEditor rows={tagRows} onChange={setTagRows} errors={tagErrors} />
          {errors.tags ? <p className="mt-2 text-sm text-red-700">{errors.tags[0]}</p> : null}
        </Card>
      </div>
      <div className="space-y-4 lg:sticky lg:top-4">
        <Card title="Quota after launch" description="What this tenant uses, what this instance adds, and the limit.">
          {quotas.data ? <QuotaBars quotas={quotas.data} request={request} label="Quota after launch" /> : <p role="status">Loading quotas…</p>}
        </Card>
        <Card title="Cost">
          {/* Only sizes the API accepts are priced; anything else asks for a valid size. */}
          <LaunchEstimate
            tenantId={tenant.id}
            size={withinLimits(sizeNumbers) && bandwidthMbit !== null ? { ...sizeNumbers, bandwidthMbit } : { vcpus: 0, memoryMiB: 0, diskGiB: 0, nics: 0 }}
          />
        </Card>
        <div className="flex flex-wrap gap-2">
          <Button type="submit" busy={launch.isPending} disabledReason={notAllowed ?? noImage}>
            Launch instance
          </Button>
          <LinkButton href={`/t/${tenant.slug}/instances`} variant="secondary">
            Cancel
          </LinkButton>
        </div>
      </div>
    </form>
  );
}
