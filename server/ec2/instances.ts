// The instance actions of the EC2 API: each is a thin reading of EC2's
// parameters onto the domain functions the console's tRPC calls (launch,
// lifecycle requests, tags), so quotas, audit and tenancy are the same.
import { outer } from '../db/outer';
import { and, asc, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { flavors, instances, networkInterfaces } from '../db/schema';
import { requestInstanceAction, type LifecycleAction } from '../instances/actions';
import type { InstanceState } from '../instances/can';
import { launchInstances } from '../instances/launch';
import { afterInstance, instanceColumns, ofTenant, type Instance } from '../instances/queries';
import { changeInstanceTags } from '../instances/tags';
import { instanceNameSchema, launchInput, userDataSchema } from '../instances/validation';
import { getKeyPairForLaunch } from '../keys/key-pairs';
import { DomainError } from '../errors';
import { ZONE, type Action, type Call } from './call';
import { Ec2Error, fromDomain } from './errors';
import { encodeToken, filters, page, type Filter, type Params } from './params';
import { set, type XmlObject } from './xml';

// ---------------------------------------------------------------- 1. states in EC2's words

type Ec2State = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
const codes: Record<Ec2State, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

/**
 * Cirrus has more states than EC2: each maps to the EC2 state a client's
 * waiters read right (resizing or restoring a running guest is still
 * running; suspended is stopped, as a hibernated EC2 instance is).
 */
export const ec2State: Record<InstanceState, Ec2State> = {
  pending: 'pending',
  starting: 'pending',
  running: 'running',
  resizing: 'running',
  restoring: 'running',
  stopping: 'stopping',
  suspending: 'stopping',
  stopped: 'stopped',
  suspended: 'stopped',
  error: 'stopped',
  resuming: 'pending',
  terminating: 'shutting-down',
  terminated: 'terminated',
};

const cirrusStates = (names: string[]): InstanceState[] => {
  const out: InstanceState[] = [];
  for (const n of names) {
    if (!(n in codes)) throw new Ec2Error('InvalidParameterValue', `instance-state-name is one of ${Object.keys(codes).join(', ')}; got "${n.slice(0, 40)}".`);
    for (const [c, e] of Object.entries(ec2State)) if (e === n) out.push(c as InstanceState);
  }
  return out;
};

const stateXml = (s: InstanceState) => ({ code: codes[ec2State[s]], name: ec2State[s] });

// ---------------------------------------------------------------- 2. ids

const INSTANCE_ID = /^i-[0-9a-f]{17}$/;

function instanceIds(p: Params): string[] {
  const ids = p.list('InstanceId');
  const bad = ids.find((id) => !INSTANCE_ID.test(id));
  if (bad) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${bad.slice(0, 40)}" (expecting "i-" and 17 hex digits).`);
  return [...new Set(ids)];
}

/** The tenant's instances among `ids`; any other id (unknown, or another tenant's) is InvalidInstanceID.NotFound, as EC2 says it. */
async function ownInstances(call: Call, ids: string[]): Promise<Instance[]> {
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId.1.');
  const rows = await call.db.select(instanceColumns).from(instances).where(ofTenant(call.tenant.id, inArray(instances.id, ids)));
  const missing = ids.filter((id) => !rows.some((r) => r.id === id));
  if (missing.length) throw notFound(missing);
  return ids.map((id) => rows.find((r) => r.id === id)!).map((r) => ({ ...r, hostName: null }));
}

const notFound = (ids: string[]) =>
  new Ec2Error('InvalidInstanceID.NotFound', ids.length === 1 ? `The instance ID '${ids[0]}' does not exist` : `The instance IDs '${ids.join(', ')}' do not exist`);

// ---------------------------------------------------------------- 3. describing

type Described = Instance & { addresses: string[]; instanceType: string };

/** A flavor whose size it has names its instance type; any other size is `custom-<vcpus>vcpu-<MiB>mib`. */
async function withTypes(call: Call, rows: Instance[]): Promise<Described[]> {
  if (rows.length === 0) return [];
  const [sizes, nics] = await Promise.all([
    call.db.select({ name: flavors.name, vcpus: flavors.vcpus, memoryMiB: flavors.memoryMiB }).from(flavors).where(eq(flavors.enabled, true)).orderBy(asc(flavors.name)),
    call.db
      .select({ instanceId: networkInterfaces.instanceId, address: sql<string | null>`host(${networkInterfaces.address})` })
      .from(networkInterfaces)
      .where(and(inArray(networkInterfaces.instanceId, rows.map((r) => r.id)), isNull(networkInterfaces.releasedAt)))
      .orderBy(asc(networkInterfaces.position)),
  ]);
  return rows.map((r) => ({
    ...r,
    instanceType: sizes.find((f) => f.vcpus === r.vcpus && f.memoryMiB === r.memoryMiB)?.name ?? `custom-${r.vcpus}vcpu-${r.memoryMiB}mib`,
    addresses: nics.filter((n) => n.instanceId === r.id && n.address).map((n) => n.address!),
  }));
}

const tagSet = (tags: Record<string, string>) => set(Object.entries(tags).map(([key, value]) => ({ key, value })));

function instanceXml(call: Call, vm: Described, launchIndex = 0): XmlObject {
  return {
    instanceId: vm.id,
    imageId: vm.imageId,
    instanceState: stateXml(vm.state),
    privateDnsName: '',
    reason: vm.stateReason ?? '',
    keyName: vm.keyName ?? undefined,
    amiLaunchIndex: launchIndex,
    instanceType: vm.instanceType,
    launchTime: vm.launchedAt ?? vm.createdAt,
    placement: { availabilityZone: ZONE(call.region), tenancy: 'default' },
    monitoring: { state: 'disabled' },
    privateIpAddress: vm.addresses[0],
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/vda',
    blockDeviceMapping: set([{ deviceName: '/dev/vda', ebs: { status: 'attached', deleteOnTermination: true, attachTime: vm.launchedAt ?? vm.createdAt } }]),
    virtualizationType: 'hvm',
    tagSet: tagSet(vm.tags),
    cpuOptions: { coreCount: vm.vcpus, threadsPerCore: 1 },
    stateReason: vm.stateReason ? { code: `Client.${vm.state}`, message: vm.stateReason } : undefined,
    networkInterfaceSet: set(vm.addresses.map((a, i) => ({ privateIpAddress: a, status: 'in-use', attachment: { deviceIndex: i, status: 'attached' } }))),
  };
}

const reservation = (call: Call, vms: Described[]): XmlObject => ({
  // One reservation per instance: Cirrus keeps no launch batches, so each instance stands for itself.
  reservationId: `r-${vms[0]!.id.slice(2)}`,
  ownerId: call.tenant.id,
  groupSet: set([]),
  instancesSet: set(vms.map((vm, i) => instanceXml(call, vm, i))),
});

const INSTANCE_FILTERS = new Set(['instance-id', 'instance-state-name', 'instance-state-code', 'tag-key', 'image-id', 'key-name', 'instance-type']);
const knownInstanceFilter = (n: string) => INSTANCE_FILTERS.has(n) || /^tag:.{1,128}$/.test(n);

/** The SQL of EC2's filters: OR within a filter's values, AND across filters. */
function filterSql(fs: Filter[]): (SQL | undefined)[] {
  return fs.map((f) => {
    if (f.name === 'instance-id') return inArray(instances.id, f.values);
    if (f.name === 'instance-state-name') return inArray(instances.state, cirrusStates(f.values));
    if (f.name === 'instance-state-code') {
      const names = Object.entries(codes).filter(([, c]) => f.values.includes(String(c))).map(([n]) => n);
      return names.length ? inArray(instances.state, cirrusStates(names)) : sql`false`;
    }
    if (f.name === 'image-id') return inArray(instances.imageId, f.values);
    if (f.name === 'key-name') return inArray(instances.keyName, f.values);
    if (f.name === 'tag-key') return or(...f.values.map((k) => sql`${instances.tags} ? ${k}`));
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      return or(...f.values.map((v) => (v.includes('*') || v.includes('?') ? sql`${instances.tags} ->> ${key} like ${globToLike(v)}` : sql`${instances.tags} @> ${JSON.stringify({ [key]: v })}::jsonb`)));
    }
    if (f.name === 'instance-type') return inArray(instanceTypeSql, f.values);
    return undefined;
  });
}

/**
 * An instance's EC2 type in SQL, as withTypes names it: the first enabled
 * flavor (by name) of its vCPUs and memory, or custom-…. In the WHERE clause,
 * so a page of filtered instances is full and its NextToken true.
 */
const instanceTypeSql = sql`coalesce(
  (select f.name from ${flavors} f where f.enabled and f.vcpus = ${outer(instances.vcpus)} and f.memory_mib = ${outer(instances.memoryMiB)} order by f.name limit 1),
  'custom-' || ${outer(instances.vcpus)} || 'vcpu-' || ${outer(instances.memoryMiB)} || 'mib'
)`;

/** EC2 filter values take `*` and `?` wildcards. */
const globToLike = (v: string) => v.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');

/**
 * The tenant's instances as EC2 lists them: every one but those terminated
 * more than an hour ago, oldest first, in pages.
 */
async function describe(call: Call): Promise<{ items: Described[]; next: string | null }> {
  const p = call.params;
  const ids = instanceIds(p);
  const fs = filters(p, knownInstanceFilter);
  const { size, after } = page(p);
  const conds: (SQL | undefined)[] = [
    or(sql`${instances.state} <> 'terminated'`, sql`${instances.terminatedAt} > now() - interval '1 hour'`),
    ...filterSql(fs),
  ];
  if (ids.length) conds.push(inArray(instances.id, ids));
  if (after) {
    if (!INSTANCE_ID.test(after)) throw new Ec2Error('InvalidParameterValue', 'The NextToken is not one this endpoint gave; start from the first page.');
    conds.push(afterInstance(after, 'created_at', 'asc', call.tenant.id));
  }
  const rows = await call.db
    .select(instanceColumns)
    .from(instances)
    .where(ofTenant(call.tenant.id, ...conds))
    .orderBy(asc(instances.createdAt), asc(instances.id))
    .limit(size + 1);
  if (ids.length && !after) {
    // Named ids that are not the tenant's are an error, as in EC2 (filters may still leave some out).
    const own = await call.db.select({ id: instances.id }).from(instances).where(ofTenant(call.tenant.id, inArray(instances.id, ids)));
    const missing = ids.filter((id) => !own.some((r) => r.id === id));
    if (missing.length) throw notFound(missing);
  }
  const pageRows = rows.slice(0, size).map((r) => ({ ...r, hostName: null }));
  const items = await withTypes(call, pageRows);
  return { items, next: rows.length > size ? encodeToken(pageRows[pageRows.length - 1]!.id) : null };
}

export const DescribeInstances: Action = {
  minRole: 'viewer',
  async run(call) {
    const { items, next } = await describe(call);
    return { reservationSet: set(items.map((vm) => reservation(call, [vm]))), nextToken: next ?? undefined };
  },
};

export const DescribeInstanceStatus: Action = {
  minRole: 'viewer',
  async run(call) {
    const all = call.params.bool('IncludeAllInstances') ?? false;
    const { items, next } = await describe(call);
    const ok = (vm: Described) => ({ status: vm.state === 'running' ? 'ok' : 'not-applicable', details: set([{ name: 'reachability', status: vm.state === 'running' ? 'passed' : 'not-applicable' }]) });
    return {
      instanceStatusSet: set(
        items
          .filter((vm) => all || ec2State[vm.state] === 'running')
          .map((vm) => ({ instanceId: vm.id, availabilityZone: ZONE(call.region), instanceState: stateXml(vm.state), systemStatus: ok(vm), instanceStatus: ok(vm), eventsSet: set([]) })),
      ),
      nextToken: next ?? undefined,
    };
  },
};

// ---------------------------------------------------------------- 4. launching

const MAX_PER_CALL = 20;

function readTags(p: Params, resourceType: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of p.structs('TagSpecification')) {
    const type = spec.required('ResourceType');
    if (type !== resourceType) throw new Ec2Error('InvalidParameterValue', `Tags here go on the ${resourceType}; "${type.slice(0, 40)}" cannot be tagged by this request.`);
    for (const t of spec.structs('Tag')) tags[t.required('Key')] = t.string('Value') ?? '';
  }
  return tags;
}

function readUserData(p: Params): string | undefined {
  const raw = p.string('UserData');
  if (raw === undefined || raw === '') return undefined;
  if (!/^[A-Za-z0-9+/=\s]*$/.test(raw)) throw new Ec2Error('InvalidParameterValue', 'UserData must be base64-encoded.');
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const ok = userDataSchema.safeParse(text);
  if (!ok.success) throw new Ec2Error('InvalidUserData.Malformed', ok.error.issues[0]?.message ?? 'UserData is not valid.');
  return text;
}

/** The size a launch asks for: an instance type (a flavor), its CPU options, and a root volume size. */
async function readSize(call: Call) {
  const p = call.params;
  const typeName = p.string('InstanceType');
  const rows = await call.db.select().from(flavors).where(eq(flavors.enabled, true)).orderBy(asc(flavors.vcpus), asc(flavors.memoryMiB), asc(flavors.name));
  const flavor = typeName ? rows.find((f) => f.name === typeName) : rows[0];
  if (!flavor) {
    throw new Ec2Error(
      'InvalidParameterValue',
      typeName ? `Invalid value '${typeName.slice(0, 40)}' for InstanceType: the instance types are ${rows.map((f) => f.name).join(', ') || 'none (an administrator defines them)'}.` : 'Name an InstanceType: this cloud has none defined yet.',
    );
  }
  const cpu = p.struct('CpuOptions');
  const cores = cpu.int('CoreCount', { min: 1, max: 32 });
  const threads = cpu.int('ThreadsPerCore', { min: 1, max: 2 }) ?? 1;
  const root = p.structs('BlockDeviceMapping').find((b) => !b.struct('Ebs').empty);
  const diskGiB = root?.struct('Ebs').int('VolumeSize', { min: 1, max: 2048 });
  return { vcpus: cores ? cores * threads : flavor.vcpus, memoryMiB: flavor.memoryMiB, diskGiB: diskGiB ?? flavor.diskGiB, nics: flavor.nics };
}

export const RunInstances: Action = {
  minRole: 'member',
  async run(call) {
    const p = call.params;
    const imageId = p.required('ImageId');
    const max = p.int('MaxCount', { min: 1, max: MAX_PER_CALL }) ?? 1;
    const min = p.int('MinCount', { min: 1, max: MAX_PER_CALL }) ?? 1;
    if (min > max) throw new Ec2Error('InvalidParameterValue', `MinCount (${min}) is more than MaxCount (${max}).`);
    const size = await readSize(call);
    const tags = readTags(p, 'instance');
    const userData = readUserData(p);
    const keyName = p.string('KeyName');
    let keyPairId: string | undefined;
    if (keyName) {
      try {
        keyPairId = (await getKeyPairForLaunch(call.db, call.tenant.id, keyName)).id;
      } catch {
        throw new Ec2Error('InvalidKeyPair.NotFound', `The key pair '${keyName.slice(0, 80)}' does not exist`);
      }
    }
    const tagName = tags.Name && instanceNameSchema.safeParse(tags.Name).success ? tags.Name.trim() : null;
    // All of them or none below MinCount: decided together (launchInstances), in one transaction. They are alike, so
    // what is admitted is the first ones: once one is refused for room or quota, those after it are too.
    const inputs = Array.from({ length: max }, (_, i) => {
      const input = launchInput.safeParse({ name: tagName ?? `${imageId.slice(0, 40)}-${i + 1}`, imageId, ...size, tags, keyPairId, userData });
      if (!input.success) throw new Ec2Error('InvalidParameterValue', input.error.issues[0]?.message ?? 'The launch parameters are not valid.');
      return input.data;
    });
    const launched = await call.db.transaction(async (tx) => {
      const answers = await launchInstances(
        tx,
        call.tenant.id,
        inputs.map((input) => ({ actor: call.actor, input })),
      );
      const refused = answers.findIndex((a) => a instanceof DomainError);
      const out = (refused < 0 ? answers : answers.slice(0, refused)) as Instance[];
      if (refused >= 0) {
        const err = answers[refused] as DomainError;
        const enough = out.length >= min && (err.code === 'QUOTA_EXCEEDED' || err.code === 'INSUFFICIENT_CAPACITY');
        if (!enough || answers.slice(refused).some((a) => !(a instanceof DomainError))) throw fromDomain(err, { limit: 'InstanceLimitExceeded' });
      }
      return out;
    });
    const vms = await withTypes(call, launched);
    return { reservationId: `r-${vms[0]!.id.slice(2)}`, ownerId: call.tenant.id, groupSet: set([]), instancesSet: set(vms.map((vm, i) => instanceXml(call, vm, i))) };
  },
};

// ---------------------------------------------------------------- 5. lifecycle

/** For each action, the states in which asking again changes nothing (EC2 answers those with the current state). */
const already: Partial<Record<LifecycleAction, InstanceState[]>> = {
  start: ['running', 'starting', 'pending'],
  stop: ['stopped', 'stopping'],
  terminate: ['terminated', 'terminating'],
};

function lifecycle(action: LifecycleAction, resultSet: string | null): Action {
  return {
    minRole: 'member',
    async run(call) {
      const vms = await ownInstances(call, instanceIds(call.params));
      const force = action === 'stop' && (call.params.bool('Force') ?? false);
      const changes: XmlObject[] = [];
      for (const vm of vms) {
        if (already[action]?.includes(vm.state)) {
          changes.push({ instanceId: vm.id, previousState: stateXml(vm.state), currentState: stateXml(vm.state) });
          continue;
        }
        try {
          const after = await requestInstanceAction(call.db, call.actor, call.tenant.id, vm.id, action, { force });
          changes.push({ instanceId: vm.id, previousState: stateXml(vm.state), currentState: stateXml(after.state) });
        } catch (err) {
          if (err instanceof DomainError && err.code === 'INVALID_STATE') throw new Ec2Error('IncorrectInstanceState', err.message);
          throw fromDomain(err, { notFound: 'InvalidInstanceID.NotFound' });
        }
      }
      return resultSet ? { instancesSet: set(changes) } : { return: true };
    },
  };
}

export const StartInstances = lifecycle('start', 'instancesSet');
export const StopInstances = lifecycle('stop', 'instancesSet');
export const TerminateInstances = lifecycle('terminate', 'instancesSet');
export const RebootInstances = lifecycle('reboot', null);

// ---------------------------------------------------------------- 6. tags

function resourceIds(p: Params): string[] {
  const ids = [...new Set(p.list('ResourceId'))];
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ResourceId.1.');
  const other = ids.find((id) => !INSTANCE_ID.test(id));
  if (other) throw new Ec2Error('InvalidID', `The ID '${other.slice(0, 40)}' is not valid: tags here go on instances (i-…).`);
  return ids;
}

export const CreateTags: Action = {
  minRole: 'member',
  async run(call) {
    const ids = resourceIds(call.params);
    const tags: Record<string, string> = {};
    for (const t of call.params.structs('Tag')) tags[t.required('Key')] = t.string('Value') ?? '';
    if (Object.keys(tags).length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Tag.1.Key.');
    await ownInstances(call, ids);
    await changeInstanceTags(call.db, call.actor, call.tenant.id, ids, { set: tags }).catch((err) => {
      throw fromDomain(err, { notFound: 'InvalidInstanceID.NotFound' });
    });
    return { return: true };
  },
};

export const DeleteTags: Action = {
  minRole: 'member',
  async run(call) {
    const ids = resourceIds(call.params);
    await ownInstances(call, ids);
    const given = call.params.structs('Tag').map((t) => ({ key: t.required('Key'), value: t.string('Value') }));
    // No Tag.N: every tag goes, as in EC2 — each instance's as they are under its row lock.
    await changeInstanceTags(call.db, call.actor, call.tenant.id, ids, given.length ? { remove: given } : { removeAll: true }).catch((err) => {
      throw fromDomain(err, { notFound: 'InvalidInstanceID.NotFound' });
    });
    return { return: true };
  },
};

const TAG_FILTERS = new Set(['key', 'value', 'resource-id', 'resource-type']);

export const DescribeTags: Action = {
  minRole: 'viewer',
  async run(call) {
    const fs = filters(call.params, (n) => TAG_FILTERS.has(n));
    const { size, after } = page(call.params);
    const types = fs.find((f) => f.name === 'resource-type')?.values;
    if (types && !types.includes('instance')) return { tagSet: set([]) };
    const ids = fs.find((f) => f.name === 'resource-id')?.values;
    const rows = await call.db
      .select({ id: instances.id, tags: instances.tags })
      .from(instances)
      .where(ofTenant(call.tenant.id, sql`${instances.state} <> 'terminated'`, ids ? inArray(instances.id, ids) : undefined))
      .orderBy(asc(instances.id));
    const keys = fs.find((f) => f.name === 'key')?.values;
    const values = fs.find((f) => f.name === 'value')?.values;
    const all = rows
      .flatMap((r) => Object.entries(r.tags).map(([key, value]) => ({ resourceId: r.id, resourceType: 'instance', key, value })))
      .filter((t) => (!keys || keys.includes(t.key)) && (!values || values.includes(t.value)))
      .sort((a, b) => (a.resourceId + '\0' + a.key < b.resourceId + '\0' + b.key ? -1 : 1));
    const start = after ? all.findIndex((t) => `${t.resourceId}\0${t.key}` > after) : 0;
    const slice = start < 0 ? [] : all.slice(start, start + size);
    const last = slice[slice.length - 1];
    return { tagSet: set(slice), nextToken: start >= 0 && start + size < all.length && last ? encodeToken(`${last.resourceId}\0${last.key}`) : undefined };
  },
};
