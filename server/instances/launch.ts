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
import { chooseHost, placementTransaction, spreadGroupHosts, type HostRow } from '../hosts';
import { instanceOpJob } from '../jobs';
import { getKeyPairForLaunch } from '../keys/key-pairs';
import { allocateInterfaces } from '../network/interfaces';
import { DEFAULT_RATE_MBIT, type LaunchInterface } from '../network/validation';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import type { QuotaLimits } from '../quotas/resources';
import { newInstanceId } from './ids';
import { instanceColumns, type Instance } from './queries';
import { instanceEventInsert } from './transition';
import type { LaunchInput } from './validation';

/**
 * Launch from an image: the image, its minimums, the key pair and the budget
 * are checked and a host chosen, then the tenant's quota lock is taken and
 * admitInstance does the rest, in one transaction (run again if its placement
 * was lost).
 */
export async function launchInstance(db: DbOrTx, actor: Actor, tenantId: string, input: LaunchInput): Promise<Instance> {
  return placementTransaction(db, async (tx) => {
    const image = await imageForLaunch(tx, tenantId, input.imageId);
    if (!image) throw new DomainError('INVALID_INPUT', 'That image is not available for launches. Choose another.', 'imageId');
    if (input.memoryMiB < image.minMemoryMiB) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minMemoryMiB} MiB of memory.`, 'memoryMiB');
    }
    if (input.diskGiB < image.minDiskGiB) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs a disk of at least ${image.minDiskGiB} GiB.`, 'diskGiB');
    }
    if (input.vcpus < image.minVcpus) {
      throw new DomainError('INVALID_INPUT', `${image.name} needs at least ${image.minVcpus} vCPUs.`, 'vcpus');
    }
    if (!image.features.hotplug && (input.maxVcpus !== undefined || input.maxMemoryMiB !== undefined)) {
      throw new DomainError('INVALID_INPUT', `${image.name} does not bring hot-added vCPUs and memory online, so it has no room to grow into while it runs.`, input.maxVcpus !== undefined ? 'maxVcpus' : 'maxMemoryMiB');
    }
    if (!image.features.cloudInit) {
      const field = input.keyPairId ? 'keyPairId' : input.userData ? 'userData' : null;
      if (field) throw new DomainError('INVALID_INPUT', `${image.name} does not run cloud-init, so it cannot take a key pair or user data. Choose an image that does, or leave them out.`, field);
    }
    // Copied, not referenced: deleting the key pair later changes nothing for this instance.
    const key = input.keyPairId ? await getKeyPairForLaunch(tx, tenantId, input.keyPairId) : null;

    const interfaces: LaunchInterface[] = input.interfaces ?? Array.from({ length: input.nics }, () => ({}));
    // Before the quota lock: month-to-date spend is not changed by a launch being admitted.
    await assertWithinBudget(tx, tenantId);
    // A tenant's own image is in its host's catalog only.
    const onHost = image.captured && image.hostId ? image.hostId : undefined;
    if (input.autoRecover && onHost) {
      throw new DomainError('INVALID_INPUT', `${image.name} is an image captured on one host, and only that host has it: an auto-recover instance must be able to boot on any host. Launch it without auto-recover, or from a catalog image.`, 'autoRecover');
    }
    // Chosen before the quota lock too (a read; the row claims it at commit), so the tenant's launches queue on their lock for less.
    const placement = await chooseHost(tx, requestOf(input, interfaces), onHost, [], input.autoRecover ? { sharedPool: true } : {});
    const limits = await lockTenantQuota(tx, tenantId);
    return admitInstance(tx, actor, tenantId, limits, {
      placement,
      values: {
        name: input.name,
        imageId: image.id,
        vcpus: input.vcpus,
        memoryMiB: input.memoryMiB,
        diskGiB: input.diskGiB,
        nics: input.nics,
        tags: input.tags ?? {},
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
      interfaces,
      action: 'launch',
      onHost,
      detail: { keyName: key?.name ?? null, userDataBytes: input.userData ? Buffer.byteLength(input.userData) : 0 },
    });
  });
}

/** The columns a launch or a clone gives a new instance (the rest: its id, tenant, host, state and creator, or defaults). */
const givenColumns = ['name', 'imageId', 'vcpus', 'memoryMiB', 'diskGiB', 'nics', 'tags', 'keyName', 'sshPublicKey', 'userData', 'maxVcpus', 'maxMemoryMiB', 'cloneOfInstanceId', 'cloneOfSnapshotId', 'cloneLinked', 'spreadGroup', 'autoRecover'] as const;

// Every launch and clone inserts one: built once, a named statement.
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
  /** Only this host will do (a clone is made where its source's files are). */
  onHost?: string;
  /** chooseHost's answer when the caller asked it before the quota lock; asked after the quota check otherwise. */
  placement?: HostRow | DomainError;
  /** Said in its first event, after where it goes. */
  message?: string;
  detail: Record<string, unknown>;
};

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

/**
 * Admit a new instance, in the caller's transaction and under the tenant's
 * quota lock (`limits`, taken first; the budget checked before it): usage +
 * request against every limit, a host with room, the row as `pending` with
 * its NICs and their addresses, and — in one statement — its first ledger
 * segments, the event, the audit entry and the start job. The row claims its
 * host as the transaction commits (instances_claim_host), so the host's row is
 * locked only for the commit and the launches of other tenants queue on one
 * another for no longer. Any refusal rolls all of it back, so no burst of
 * concurrent launches or clones can pass a limit or a host's capacity. Its
 * caller runs it in placementTransaction.
 */
export async function admitInstance(tx: Tx, actor: Actor, tenantId: string, limits: QuotaLimits, n: NewInstance): Promise<Instance> {
  const v = n.values;
  const request = requestOf(v, n.interfaces);
  checkQuota(limits, await tenantUsage(tx, tenantId), request, `this ${n.action}`);
  let host = n.placement ?? (await chooseHost(tx, request, n.onHost));
  // A spread group's instances run on different hosts: read under the tenant's lock, so its launches cannot both take one host.
  if (v.spreadGroup) {
    const taken = await spreadGroupHosts(tx, tenantId, v.spreadGroup);
    if (host instanceof DomainError || taken.includes(host.id)) {
      host = await chooseHost(tx, request, n.onHost, taken, v.autoRecover ? { sharedPool: true } : {});
      if (host instanceof DomainError && taken.length) {
        throw new DomainError('INSUFFICIENT_CAPACITY', `Spread group ${v.spreadGroup} has an instance on ${taken.length} host${taken.length === 1 ? '' : 's'} already, and no other host has room: ${host.message}`);
      }
    }
  }
  if (host instanceof DomainError) throw host;

  const [row] = await insertPending(tx, {
    ...Object.fromEntries(givenColumns.map((c) => [c, given(v, c)])),
    id: newInstanceId(),
    tenantId,
    hostId: host.id,
    createdBy: actor.kind === 'user' ? actor.userId : null,
  });
  if (!row) throw new Error('instance insert returned nothing');
  const nics = await allocateInterfaces(tx, row, n.interfaces, host.networkMode);
  const verb = n.action === 'launch' ? 'Launch' : 'Clone';
  await writeTogether(tx, 'admit-instance-records', [
    openingSegments(tx, { ...row, bandwidthMbit: request.bandwidthMbit, portForwards: 0, savedStateMiB: null }),
    instanceEventInsert(tx, actor, { instanceId: row.id, tenantId, action: n.action, to: 'pending', message: `${verb} requested on ${host.name}.${n.message ? ` ${n.message}` : ''}` }),
    auditInsert(tx, actor, {
      action: `instance.${n.action}`,
      tenantId,
      target: { type: 'instance', id: row.id },
      detail: { ...request, imageId: v.imageId, host: host.name, ...n.detail, interfaces: nics.map((x) => ({ networkId: x.networkId, address: x.address, rateMbit: x.rateMbit })) },
    }),
    instanceOpJob(host.id, { instanceId: row.id, op: 'start' }),
  ]);
  return { ...row, hostName: host.name };
}
