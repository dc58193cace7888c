import { sql, type Placeholder } from 'drizzle-orm';
import { auditInsert, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import { openingSegments } from '../billing/ledger';
import type { DbOrTx, Tx } from '../db/client';
import { prebuilt } from '../db/named';
import { writeTogether } from '../db/together';
import { instances } from '../db/schema';
import { imageForLaunch } from '../images/images';
import { DomainError } from '../errors';
import { pickHost, placementTransaction, readPlacement, spreadGroupHosts, takeRoom, type HostRow, type PlacementView } from '../hosts';
import { instanceOpJobs } from '../jobs';
import { getKeyPairForLaunch } from '../keys/key-pairs';
import { planAddresses, type AllocatedNic } from '../network/interfaces';
import { DEFAULT_RATE_MBIT, type LaunchInterface } from '../network/validation';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import type { QuotaLimits } from '../quotas/resources';
import { newInstanceId } from './ids';
import { instanceColumns, type Instance } from './queries';
import { instanceEventInsert } from './transition';
import type { LaunchInput } from './validation';

/** One launch asked: who asks, and what. */
export type LaunchRequest = { actor: Actor; input: LaunchInput };

/** Launch from an image (launchInstances with one request): the instance, or its refusal thrown. */
export async function launchInstance(db: DbOrTx, actor: Actor, tenantId: string, input: LaunchInput): Promise<Instance> {
  return onlyAnswer(await launchInstances(db, tenantId, [{ actor, input }]));
}

/** The one answer of a batch of one: the instance, or its refusal thrown. */
function onlyAnswer(answers: (Instance | DomainError)[]): Instance {
  const [out] = answers;
  if (out instanceof DomainError) throw out;
  if (!out || answers.length !== 1) throw new Error(`a batch of one was answered ${answers.length} times`);
  return out;
}

/**
 * Launches of one tenant from images, decided together in one transaction
 * (run again if a placement was lost): each request's image, its minimums and
 * its key pair are checked, the budget once, and the hosts read once; then
 * the tenant's quota lock is taken and admitInstances admits them in order,
 * each seeing what those before it took. One answer per request, in order:
 * its instance, or the refusal that is its own — a refused request takes
 * nothing, and the others are decided as if it had not been asked.
 */
export async function launchInstances(db: DbOrTx, tenantId: string, requests: LaunchRequest[]): Promise<(Instance | DomainError)[]> {
  return placementTransaction(db, async (tx) => {
    const out: (Instance | DomainError | undefined)[] = new Array(requests.length);
    const images = new Map<string, Awaited<ReturnType<typeof imageForLaunch>>>();
    const keys = new Map<string, Awaited<ReturnType<typeof getKeyPairForLaunch>> | DomainError>();
    const admissions: Admission[] = [];
    const asked: number[] = [];
    for (const [i, { actor, input }] of requests.entries()) {
      if (!images.has(input.imageId)) images.set(input.imageId, await imageForLaunch(tx, tenantId, input.imageId));
      const image = images.get(input.imageId)!;
      let key: Awaited<ReturnType<typeof getKeyPairForLaunch>> | DomainError | null = null;
      if (image && input.keyPairId) {
        if (!keys.has(input.keyPairId)) keys.set(input.keyPairId, await getKeyPairForLaunch(tx, tenantId, input.keyPairId).catch(domainOnly));
        key = keys.get(input.keyPairId)!;
      }
      const made = image ? newFromImage(image, input, key) : new DomainError('INVALID_INPUT', 'That image is not available for launches. Choose another.', 'imageId');
      if (made instanceof DomainError) out[i] = made;
      else {
        admissions.push({ ...made, actor });
        asked.push(i);
      }
    }
    if (admissions.length) {
      // Before the quota lock: month-to-date spend is not changed by a launch being admitted.
      const overBudget = await assertWithinBudget(tx, tenantId).then(() => null, domainOnly);
      // Read before the quota lock too (the rows claim their hosts at commit), so the tenant's launches hold their lock for less.
      const view = overBudget ? null : await readPlacement(tx);
      const decided = view ? await admitInstances(tx, tenantId, await lockTenantQuota(tx, tenantId), admissions, view) : admissions.map(() => overBudget!);
      decided.forEach((d, k) => (out[asked[k]!] = d));
    }
    return out as (Instance | DomainError)[];
  });
}

/** A DomainError is an answer; anything else is a fault, thrown on. */
function domainOnly(e: unknown): DomainError {
  if (e instanceof DomainError) return e;
  throw e;
}

type LaunchImage = NonNullable<Awaited<ReturnType<typeof imageForLaunch>>>;

/** What a launch from `image` admits, or why it is refused before any lock: the image's minimums and what it can take. */
function newFromImage(image: LaunchImage, input: LaunchInput, key: { name: string; publicKey: string } | DomainError | null): NewInstance | DomainError {
  if (input.memoryMiB < image.minMemoryMiB) {
    return new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minMemoryMiB} MiB of memory.`, 'memoryMiB');
  }
  if (input.diskGiB < image.minDiskGiB) {
    return new DomainError('INVALID_INPUT', `${image.name} needs a disk of at least ${image.minDiskGiB} GiB.`, 'diskGiB');
  }
  if (input.vcpus < image.minVcpus) {
    return new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minVcpus} vCPUs.`, 'vcpus');
  }
  if (!image.features.hotplug && (input.maxVcpus !== undefined || input.maxMemoryMiB !== undefined)) {
    return new DomainError('INVALID_INPUT', `${image.name} does not bring hot-added vCPUs and memory online, so it has no room to grow into while it runs.`, input.maxVcpus !== undefined ? 'maxVcpus' : 'maxMemoryMiB');
  }
  if (!image.features.cloudInit) {
    const field = input.keyPairId ? 'keyPairId' : input.userData ? 'userData' : null;
    if (field) return new DomainError('INVALID_INPUT', `${image.name} does not run cloud-init, so it cannot take a key pair or user data. Choose an image that does, or leave them out.`, field);
  }
  if (key instanceof DomainError) return key;
  // A tenant's own image is in its host's catalog only.
  const onHost = image.captured && image.hostId ? image.hostId : undefined;
  if (input.autoRecover && onHost) {
    return new DomainError('INVALID_INPUT', `${image.name} is an image captured on one host, and only that host has it: an auto-recover instance must be able to boot on any host. Launch it without auto-recover, or from a catalog image.`, 'autoRecover');
  }
  return {
    values: {
      name: input.name,
      imageId: image.id,
      vcpus: input.vcpus,
      memoryMiB: input.memoryMiB,
      diskGiB: input.diskGiB,
      nics: input.nics,
      tags: input.tags ?? {},
      // Copied, not referenced: deleting the key pair later changes nothing for this instance.
      keyName: key?.name ?? null,
      sshPublicKey: key?.publicKey ?? null,
      userData: input.userData ? input.userData : null,
      maxVcpus: input.maxVcpus && input.maxVcpus > input.vcpus ? input.maxVcpus : null,
      maxMemoryMiB: input.maxMemoryMiB && input.maxMemoryMiB > input.memoryMiB ? input.maxMemoryMiB : null,
      cloneOfInstanceId: null,
      cloneOfSnapshotId: null,
      cloneLinked: null,
      spreadGroup: input.spreadGroup ?? null,
      autoRecover: input.autoRecover ?? false,
    },
    interfaces: input.interfaces ?? Array.from({ length: input.nics }, () => ({})),
    action: 'launch',
    onHost,
    detail: { keyName: key?.name ?? null, userDataBytes: input.userData ? Buffer.byteLength(input.userData) : 0 },
  };
}

/** The columns a launch or a clone gives a new instance (the rest: its id, tenant, host, state and creator, or defaults). */
const givenColumns = ['name', 'imageId', 'vcpus', 'memoryMiB', 'diskGiB', 'nics', 'tags', 'keyName', 'sshPublicKey', 'userData', 'maxVcpus', 'maxMemoryMiB', 'cloneOfInstanceId', 'cloneOfSnapshotId', 'cloneLinked', 'spreadGroup', 'autoRecover'] as const;

// Every launch and clone inserts one: built once, a named statement (a batch's rows, more than one, go in one statement built for them).
const insertPending = prebuilt('admit-instance', (db) =>
  db
    .insert(instances)
    .values({
      id: sql.placeholder('id'),
      tenantId: sql.placeholder('tenantId'),
      hostId: sql.placeholder('hostId'),
      state: 'pending',
      createdBy: sql.placeholder('createdBy'),
      ...(Object.fromEntries(givenColumns.map((c) => [c, sql.placeholder(c)])) as Record<(typeof givenColumns)[number], Placeholder>),
    })
    .returning(instanceColumns),
);

/**
 * What a new instance is made of, whether launched from an image or cloned. Every given column is given (null where
 * it has none): the insert is one prepared statement with a placeholder for each, so an omitted one would not get
 * its column's default (`tags` would be JSON null, not `{}`).
 */
export type NewInstance = {
  values: Required<Pick<typeof instances.$inferInsert, (typeof givenColumns)[number]>>;
  interfaces: LaunchInterface[];
  action: 'launch' | 'clone';
  /** Only this host will do (a clone is made where its source's files are; a captured image is on its host only). */
  onHost?: string;
  /** Said in its first event, after where it goes. */
  message?: string;
  detail: Record<string, unknown>;
};

/** A new instance and who asks for it. */
export type Admission = NewInstance & { actor: Actor };

/** A given column's value; one left out (past the type, from JavaScript or a cast) is a bug, not a null. */
function given(v: NewInstance['values'], column: (typeof givenColumns)[number]) {
  if (v[column] === undefined) throw new Error(`admitInstance: ${column} was not given (every new instance's ${column} is set, null where it has none)`);
  return v[column];
}

/** What a new instance takes, checked against the quota and a host's room. */
function requestOf(v: { vcpus: number; memoryMiB: number; diskGiB: number; nics: number }, interfaces: LaunchInterface[]) {
  const bandwidthMbit = interfaces.reduce((sum, i) => sum + (i.rateMbit ?? DEFAULT_RATE_MBIT), 0);
  return { instances: 1, vcpus: v.vcpus, memoryMiB: v.memoryMiB, diskGiB: v.diskGiB, nics: v.nics, bandwidthMbit };
}

/** admitInstances with one: the instance, or its refusal thrown. */
export async function admitInstance(tx: Tx, actor: Actor, tenantId: string, limits: QuotaLimits, n: NewInstance): Promise<Instance> {
  return onlyAnswer(await admitInstances(tx, tenantId, limits, [{ ...n, actor }]));
}

/**
 * Admit new instances, in the caller's transaction and under the tenant's
 * quota lock (`limits`, taken first; the budget checked before it), in order,
 * each against what the tenant uses plus what those before it took: usage +
 * request against every limit, a host with room (`view`, read once — before
 * the lock by a launch — and taken from as each is placed), a spread group's
 * hosts avoided, and its NICs' addresses. Then, for all that pass, in a few
 * statements whatever their number: the rows as `pending`, their NICs, and
 * their first ledger segments, events, audit entries and start jobs. Each row
 * claims its host as the transaction commits (instances_claim_host), so the
 * host's row is locked only for the commit and the launches of other tenants
 * queue on one another for no longer. One answer per admission, in order: a
 * refusal takes nothing. No burst of concurrent launches or clones can pass
 * a limit or a host's capacity. Its caller runs it in placementTransaction.
 */
export async function admitInstances(tx: Tx, tenantId: string, limits: QuotaLimits, items: Admission[], view?: PlacementView): Promise<(Instance | DomainError)[]> {
  const out: (Instance | DomainError)[] = new Array(items.length);
  const usage = await tenantUsage(tx, tenantId);
  const hosts = view ?? (await readPlacement(tx, new Set(items.map((n) => n.onHost)).size === 1 ? items[0]!.onHost : undefined));
  const addresses = await planAddresses(tx, tenantId, items.map((n) => n.interfaces));
  const groups = new Map<string, string[]>();
  const admitted: { index: number; id: string; host: HostRow; request: ReturnType<typeof requestOf>; nics: AllocatedNic[]; n: Admission }[] = [];
  for (const [index, n] of items.entries()) {
    const v = n.values;
    const request = requestOf(v, n.interfaces);
    try {
      checkQuota(limits, usage, request, `this ${n.action}`);
    } catch (e) {
      out[index] = domainOnly(e);
      continue;
    }
    const needs = v.autoRecover ? { sharedPool: true as const } : {};
    let host = pickHost(hosts, request, n.onHost, [], needs);
    // A spread group's instances run on different hosts: read under the tenant's lock (and kept as the batch places them), so its launches cannot both take one host.
    let group: string[] | null = null;
    if (v.spreadGroup) {
      group = groups.get(v.spreadGroup) ?? (await spreadGroupHosts(tx, tenantId, v.spreadGroup));
      groups.set(v.spreadGroup, group);
      if (host instanceof DomainError || group.includes(host.id)) {
        host = pickHost(hosts, request, n.onHost, group, needs);
        if (host instanceof DomainError && group.length) {
          host = new DomainError('INSUFFICIENT_CAPACITY', `Spread group ${v.spreadGroup} has an instance on ${group.length} host${group.length === 1 ? '' : 's'} already, and no other host has room: ${host.message}`);
        }
      }
    }
    if (host instanceof DomainError) {
      out[index] = host;
      continue;
    }
    const id = newInstanceId();
    const nics = addresses.take(id, n.interfaces, host.networkMode);
    if (nics instanceof DomainError) {
      out[index] = nics;
      continue;
    }
    for (const r of Object.keys(request) as (keyof typeof request)[]) usage[r] += request[r];
    takeRoom(hosts, host.id, request);
    group?.push(host.id);
    admitted.push({ index, id, host, request, nics, n });
  }
  if (admitted.length === 0) return out;

  const rowValues = admitted.map(({ id, host, n }) => ({
    ...(Object.fromEntries(givenColumns.map((c) => [c, given(n.values, c)])) as NewInstance['values']),
    id,
    tenantId,
    hostId: host.id,
    createdBy: n.actor.kind === 'user' ? n.actor.userId : null,
  }));
  const rows = rowValues.length === 1 ? await insertPending(tx, rowValues[0]) : await tx.insert(instances).values(rowValues.map((r) => ({ ...r, state: 'pending' as const }))).returning(instanceColumns);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const parts = admitted.flatMap(({ id, host, request, nics, n }) => {
    const row = byId.get(id);
    if (!row) throw new Error(`instance insert returned no row for ${id}`);
    const verb = n.action === 'launch' ? 'Launch' : 'Clone';
    return [
      openingSegments(tx, { ...row, bandwidthMbit: request.bandwidthMbit, portForwards: 0, savedStateMiB: null }),
      instanceEventInsert(tx, n.actor, { instanceId: id, tenantId, action: n.action, to: 'pending', message: `${verb} requested on ${host.name}.${n.message ? ` ${n.message}` : ''}` }),
      auditInsert(tx, n.actor, {
        action: `instance.${n.action}`,
        tenantId,
        target: { type: 'instance', id },
        detail: { ...request, imageId: n.values.imageId, host: host.name, ...n.detail, interfaces: nics.map((x) => ({ networkId: x.networkId, address: x.address, rateMbit: x.rateMbit })) },
      }),
    ];
  });
  const starts = instanceOpJobs(admitted.map(({ id, host }) => ({ hostId: host.id, payload: { instanceId: id, op: 'start' as const } })));
  await writeTogether(tx, admitted.length === 1 ? 'admit-instance-records' : null, [addresses.insertion(tx), ...parts, starts]);
  for (const { index, id, host } of admitted) out[index] = { ...byId.get(id)!, hostName: host.name };
  return out;
}
