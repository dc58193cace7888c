// Volumes, snapshots and networks in EC2's words, over the same domain
// requests the console makes (server/storage, server/snapshots,
// server/network). EC2 snapshots are of volumes; Cirrus's are of an
// instance's disk (and memory), which EC2's CreateSnapshots of an instance is.
import crypto from 'node:crypto';
import { and, asc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import { instances, snapshots, volumes } from '../db/schema';
import { volumeSerial } from '../hypervisor/volumes';
import { createNetwork, deleteNetwork, listNetworks } from '../network/networks';
import { createNetworkInput, networkNameSchema } from '../network/validation';
import { requestDeleteSnapshot, requestSnapshot } from '../snapshots/snapshots';
import { SNAPSHOT_ID_PATTERN, snapshotNameSchema } from '../snapshots/validation';
import { getVolume, requestAttach, requestCreateVolume, requestDeleteVolume, requestDetach, volumeColumns, type Volume } from '../storage/volumes';
import { createVolumeInput, VOLUME_ID_RE, volumeNameSchema } from '../storage/validation';
import { DomainError } from '../errors';
import { ZONE, type Action, type Call } from './call';
import { Ec2Error, fromDomain } from './errors';
import { encodeToken, filters, page, type Params } from './params';
import { set, type XmlObject } from './xml';

// ---------------------------------------------------------------- volumes

type Ec2VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';
const volumeState: Record<Volume['state'], Ec2VolumeState> = {
  creating: 'creating',
  available: 'available',
  attaching: 'in-use',
  'in-use': 'in-use',
  detaching: 'in-use',
  deleting: 'deleting',
  deleted: 'deleted',
  error: 'error',
};
const attachmentState = (s: Volume['state']) => (s === 'attaching' ? 'attaching' : s === 'detaching' ? 'detaching' : 'attached');

/** Where the guest finds it: virtio-blk carries the volume's id (without its dash) as the disk's serial. */
const deviceOf = (id: string) => `/dev/disk/by-id/virtio-${volumeSerial(id)}`;

function volumeXml(call: Call, v: Volume): XmlObject {
  return {
    volumeId: v.id,
    size: v.sizeGiB,
    snapshotId: v.sourceSnapshotId ?? '',
    availabilityZone: ZONE(call.region),
    status: volumeState[v.state],
    createTime: v.createdAt,
    volumeType: 'gp3',
    iops: v.iops,
    throughput: v.mbps,
    encrypted: false,
    multiAttachEnabled: false,
    attachmentSet: set(
      v.instanceId && v.state !== 'available'
        ? [{ volumeId: v.id, instanceId: v.instanceId, device: deviceOf(v.id), status: attachmentState(v.state), attachTime: v.attachedAt ?? v.createdAt, deleteOnTermination: false }]
        : [],
    ),
    tagSet: set([{ key: 'Name', value: v.name }]),
  };
}

function volumeIds(p: Params): string[] {
  const ids = [...new Set(p.list('VolumeId'))];
  const bad = ids.find((id) => !VOLUME_ID_RE.test(id));
  if (bad) throw new Ec2Error('InvalidVolumeID.Malformed', `Invalid id: "${bad.slice(0, 40)}" (expecting "vol-" and 17 hex digits).`);
  return ids;
}
const volumeNotFound = (id: string) => new Ec2Error('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
const oneVolume = (p: Params) => {
  const id = p.required('VolumeId');
  if (!VOLUME_ID_RE.test(id)) throw new Ec2Error('InvalidVolumeID.Malformed', `Invalid id: "${id.slice(0, 40)}" (expecting "vol-" and 17 hex digits).`);
  return id;
};

const volumeErrors = (err: unknown) => {
  if (err instanceof DomainError && err.code === 'INVALID_STATE') return new Ec2Error('IncorrectState', err.message);
  if (err instanceof DomainError && err.code === 'CONFLICT') return new Ec2Error('InvalidParameterValue', err.message);
  return fromDomain(err, { notFound: 'InvalidVolume.NotFound', limit: 'VolumeLimitExceeded' });
};

const VOLUME_FILTERS = new Set(['volume-id', 'status', 'attachment.instance-id', 'size', 'snapshot-id', 'tag:Name']);

export const DescribeVolumes: Action = {
  minRole: 'viewer',
  async run(call) {
    const ids = volumeIds(call.params);
    const fs = filters(call.params, (n) => VOLUME_FILTERS.has(n));
    const { size, after } = page(call.params, { max: 500, fallback: 500 });
    const conds: (SQL | undefined)[] = [eq(volumes.tenantId, call.tenant.id), ne(volumes.state, 'deleted')];
    if (ids.length) conds.push(inArray(volumes.id, ids));
    if (after) {
      if (!VOLUME_ID_RE.test(after)) throw new Ec2Error('InvalidParameterValue', 'The NextToken is not one this endpoint gave; start from the first page.');
      conds.push(sql`(${volumes.createdAt}, ${volumes.id}) > (select v.created_at, v.id from volumes v where v.id = ${after} and v.tenant_id = ${call.tenant.id})`);
    }
    for (const f of fs) {
      if (f.name === 'volume-id') conds.push(inArray(volumes.id, f.values));
      if (f.name === 'attachment.instance-id') conds.push(inArray(volumes.instanceId, f.values));
      if (f.name === 'snapshot-id') conds.push(inArray(volumes.sourceSnapshotId, f.values));
      if (f.name === 'size') conds.push(inArray(volumes.sizeGiB, f.values.map(Number).filter(Number.isInteger)));
      if (f.name === 'tag:Name') conds.push(inArray(volumes.name, f.values));
      if (f.name === 'status') {
        const states = (Object.keys(volumeState) as Volume['state'][]).filter((s) => f.values.includes(volumeState[s]));
        conds.push(states.length ? inArray(volumes.state, states) : sql`false`);
      }
    }
    const rows = await call.db
      .select(volumeColumns)
      .from(volumes)
      .leftJoin(instances, eq(instances.id, volumes.instanceId))
      .where(and(...conds))
      .orderBy(asc(volumes.createdAt), asc(volumes.id))
      .limit(size + 1);
    if (ids.length && !after) {
      const missing = ids.find((id) => !rows.some((r) => r.id === id));
      if (missing) throw volumeNotFound(missing);
    }
    const pageRows = rows.slice(0, size);
    return { volumeSet: set(pageRows.map((v) => volumeXml(call, v))), nextToken: rows.length > size ? encodeToken(pageRows[pageRows.length - 1]!.id) : undefined };
  },
};

/** A name for what EC2 names only by tags: the Name tag when it is a valid name, else one made up. */
function nameFrom(p: Params, resourceType: string, valid: (s: string) => boolean, prefix: string): string {
  for (const spec of p.structs('TagSpecification')) {
    const type = spec.required('ResourceType');
    if (type !== resourceType) throw new Ec2Error('InvalidParameterValue', `Tags here go on the ${resourceType}; "${type.slice(0, 40)}" cannot be tagged by this request.`);
    for (const t of spec.structs('Tag')) {
      if (t.string('Key') !== 'Name') throw new Ec2Error('InvalidParameterValue', `A ${resourceType} takes one tag, Name (its name in Cirrus).`);
      const v = (t.string('Value') ?? '').trim();
      if (!valid(v)) throw new Ec2Error('InvalidParameterValue', `"${v.slice(0, 64)}" is not a valid ${resourceType} name.`);
      return v;
    }
  }
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export const CreateVolume: Action = {
  minRole: 'member',
  async run(call) {
    const p = call.params;
    const type = p.string('VolumeType') ?? 'gp3';
    if (type !== 'gp3') throw new Ec2Error('InvalidParameterValue', `Cirrus volumes are gp3-like (a baseline with provisioned IOPS and throughput); VolumeType "${type.slice(0, 20)}" is not offered.`);
    const zone = p.string('AvailabilityZone');
    if (zone && zone !== ZONE(call.region)) throw new Ec2Error('InvalidParameterValue', `The availability zone is ${ZONE(call.region)}; got "${zone.slice(0, 40)}".`);
    const snapshotId = p.string('SnapshotId');
    if (snapshotId && !SNAPSHOT_ID_PATTERN.test(snapshotId)) throw new Ec2Error('InvalidSnapshotID.Malformed', `Invalid id: "${snapshotId.slice(0, 40)}".`);
    const input = createVolumeInput.safeParse({
      name: nameFrom(p, 'volume', (s) => volumeNameSchema.safeParse(s).success, 'volume'),
      sizeGiB: p.int('Size', { min: 1, max: 16_384 }),
      snapshotId,
      iops: p.int('Iops', { min: 1, max: 1_000_000 }),
      mbps: p.int('Throughput', { min: 1, max: 100_000 }),
    });
    if (!input.success) throw new Ec2Error('InvalidParameterValue', input.error.issues[0]?.message ?? 'The volume parameters are not valid.');
    const v = await requestCreateVolume(call.db, call.actor, call.tenant.id, input.data).catch((err) => {
      if (err instanceof DomainError && err.code === 'NOT_FOUND' && snapshotId) throw new Ec2Error('InvalidSnapshot.NotFound', err.message);
      throw volumeErrors(err);
    });
    const x = volumeXml(call, v);
    delete x.attachmentSet;
    return x;
  },
};

export const AttachVolume: Action = {
  minRole: 'member',
  async run(call) {
    const volumeId = oneVolume(call.params);
    const instanceId = call.params.required('InstanceId');
    if (!/^i-[0-9a-f]{17}$/.test(instanceId)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${instanceId.slice(0, 40)}".`);
    const device = call.params.string('Device');
    if (device !== undefined && !/^\/dev\/[a-z0-9/-]{1,40}$/.test(device)) throw new Ec2Error('InvalidParameterValue', `Value (${device.slice(0, 40)}) for parameter device is invalid.`);
    await getVolume(call.db, call.tenant.id, volumeId).catch(() => {
      throw volumeNotFound(volumeId);
    });
    const v = await requestAttach(call.db, call.actor, call.tenant.id, { volumeId, instanceId }).catch((err) => {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
      throw volumeErrors(err);
    });
    return { volumeId: v.id, instanceId, device: deviceOf(v.id), status: 'attaching', attachTime: new Date(), deleteOnTermination: false };
  },
};

export const DetachVolume: Action = {
  minRole: 'member',
  async run(call) {
    const volumeId = oneVolume(call.params);
    const before = await getVolume(call.db, call.tenant.id, volumeId).catch(() => {
      throw volumeNotFound(volumeId);
    });
    const named = call.params.string('InstanceId');
    if (named && named !== before.instanceId) throw new Ec2Error('IncorrectState', `Volume ${volumeId} is not attached to ${named.slice(0, 40)}.`);
    const v = await requestDetach(call.db, call.actor, call.tenant.id, { volumeId }).catch((err) => {
      throw volumeErrors(err);
    });
    return { volumeId: v.id, instanceId: before.instanceId ?? undefined, device: deviceOf(v.id), status: 'detaching', attachTime: before.attachedAt ?? undefined };
  },
};

export const DeleteVolume: Action = {
  minRole: 'member',
  async run(call) {
    const volumeId = oneVolume(call.params);
    await requestDeleteVolume(call.db, call.actor, call.tenant.id, volumeId).catch((err) => {
      throw volumeErrors(err);
    });
    return { return: true };
  },
};

// ---------------------------------------------------------------- snapshots

type SnapshotRow = typeof snapshots.$inferSelect;
const snapshotState: Record<SnapshotRow['state'], string> = { creating: 'pending', available: 'completed', restoring: 'completed', deleting: 'completed', error: 'error' };

function snapshotXml(s: SnapshotRow & { diskGiB: number }, ownerId: string): XmlObject {
  return {
    snapshotId: s.id,
    volumeId: '',
    status: snapshotState[s.state],
    statusMessage: s.stateReason ?? undefined,
    startTime: s.createdAt,
    progress: s.state === 'creating' && s.progress ? `${Math.floor((100 * s.progress.doneBytes) / Math.max(1, s.progress.totalBytes))}%` : s.state === 'creating' ? '0%' : '100%',
    ownerId,
    volumeSize: s.diskGiB,
    description: `${s.withMemory ? 'Disk and memory' : 'Disk'} of ${s.instanceId}`,
    encrypted: false,
    storageTier: 'standard',
    tagSet: set([{ key: 'Name', value: s.name }, { key: 'cirrus:instance-id', value: s.instanceId }]),
  };
}

const SNAPSHOT_FILTERS = new Set(['snapshot-id', 'status', 'tag:Name', 'tag:cirrus:instance-id']);

export const DescribeSnapshots: Action = {
  minRole: 'viewer',
  async run(call) {
    const ids = [...new Set(call.params.list('SnapshotId'))];
    const bad = ids.find((id) => !SNAPSHOT_ID_PATTERN.test(id));
    if (bad) throw new Ec2Error('InvalidSnapshotID.Malformed', `Invalid id: "${bad.slice(0, 40)}".`);
    const fs = filters(call.params, (n) => SNAPSHOT_FILTERS.has(n));
    const { size, after } = page(call.params);
    const conds: (SQL | undefined)[] = [eq(snapshots.tenantId, call.tenant.id), ne(snapshots.state, 'deleting')];
    if (ids.length) conds.push(inArray(snapshots.id, ids));
    if (after) {
      if (!SNAPSHOT_ID_PATTERN.test(after)) throw new Ec2Error('InvalidParameterValue', 'The NextToken is not one this endpoint gave; start from the first page.');
      conds.push(sql`(${snapshots.createdAt}, ${snapshots.id}) > (select s.created_at, s.id from snapshots s where s.id = ${after} and s.tenant_id = ${call.tenant.id})`);
    }
    for (const f of fs) {
      if (f.name === 'snapshot-id') conds.push(inArray(snapshots.id, f.values));
      if (f.name === 'tag:Name') conds.push(inArray(snapshots.name, f.values));
      if (f.name === 'tag:cirrus:instance-id') conds.push(inArray(snapshots.instanceId, f.values));
      if (f.name === 'status') {
        const states = (Object.keys(snapshotState) as SnapshotRow['state'][]).filter((s) => f.values.includes(snapshotState[s]));
        conds.push(states.length ? inArray(snapshots.state, states) : sql`false`);
      }
    }
    const rows = await call.db
      .select({ s: snapshots, diskGiB: instances.diskGiB })
      .from(snapshots)
      .innerJoin(instances, eq(instances.id, snapshots.instanceId))
      .where(and(...conds))
      .orderBy(asc(snapshots.createdAt), asc(snapshots.id))
      .limit(size + 1);
    if (ids.length && !after) {
      const missing = ids.find((id) => !rows.some((r) => r.s.id === id));
      if (missing) throw new Ec2Error('InvalidSnapshot.NotFound', `The snapshot '${missing}' does not exist.`);
    }
    const pageRows = rows.slice(0, size);
    return {
      snapshotSet: set(pageRows.map((r) => snapshotXml({ ...r.s, diskGiB: r.diskGiB }, call.tenant.id))),
      nextToken: rows.length > size ? encodeToken(pageRows[pageRows.length - 1]!.s.id) : undefined,
    };
  },
};

/** EC2's snapshot of an instance's disks: here its one disk (not its volumes), as the console's disk-only snapshot. */
export const CreateSnapshots: Action = {
  minRole: 'member',
  async run(call) {
    const instanceId = call.params.struct('InstanceSpecification').required('InstanceId');
    if (!/^i-[0-9a-f]{17}$/.test(instanceId)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${instanceId.slice(0, 40)}".`);
    const name = (call.params.string('Description') ?? '').trim() || `snapshot-${crypto.randomBytes(4).toString('hex')}`;
    if (!snapshotNameSchema.safeParse(name).success) throw new Ec2Error('InvalidParameterValue', 'The Description names the snapshot: at most 64 characters of letters, digits, spaces and . _ : -');
    const made = await requestSnapshot(call.db, call.actor, call.tenant.id, { instanceId, name, withMemory: false }).catch((err) => {
      if (err instanceof DomainError && err.code === 'INVALID_STATE') throw new Ec2Error('IncorrectState', err.message);
      if (err instanceof DomainError && err.code === 'CONFLICT') throw new Ec2Error('InvalidParameterValue', err.message);
      throw fromDomain(err, { notFound: 'InvalidInstanceID.NotFound', limit: 'SnapshotLimitExceeded' });
    });
    const [vm] = await call.db.select({ diskGiB: instances.diskGiB }).from(instances).where(and(eq(instances.id, instanceId), eq(instances.tenantId, call.tenant.id)));
    return {
      snapshotSet: set([{ snapshotId: made.id, volumeId: '', state: 'pending', startTime: made.createdAt, progress: '0%', ownerId: call.tenant.id, volumeSize: vm?.diskGiB ?? 0, encrypted: false, tagSet: set([{ key: 'Name', value: made.name }]) }]),
    };
  },
};

export const DeleteSnapshot: Action = {
  minRole: 'member',
  async run(call) {
    const id = call.params.required('SnapshotId');
    if (!SNAPSHOT_ID_PATTERN.test(id)) throw new Ec2Error('InvalidSnapshotID.Malformed', `Invalid id: "${id.slice(0, 40)}".`);
    await requestDeleteSnapshot(call.db, call.actor, call.tenant.id, id).catch((err) => {
      if (err instanceof DomainError && err.code === 'INVALID_STATE') throw new Ec2Error('IncorrectState', err.message);
      throw fromDomain(err, { notFound: 'InvalidSnapshot.NotFound' });
    });
    return { return: true };
  },
};

// ---------------------------------------------------------------- networks (VPCs and their subnet)

/** Each tenant network is a VPC with one subnet of its whole range; the tenant's default network is the default VPC. */
const vpcId = (id: string) => `vpc-${id.replace(/-/g, '').slice(0, 17)}`;
const subnetId = (id: string) => `subnet-${id.replace(/-/g, '').slice(0, 17)}`;

export const DescribeVpcs: Action = {
  minRole: 'viewer',
  async run(call) {
    const wanted = call.params.list('VpcId');
    const nets = await listNetworks(call.db, call.tenant.id);
    const missing = wanted.find((w) => !nets.some((n) => vpcId(n.id) === w));
    if (missing) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${missing.slice(0, 40)}' does not exist`);
    return {
      vpcSet: set(
        nets
          .filter((n) => !wanted.length || wanted.includes(vpcId(n.id)))
          .map((n) => ({ vpcId: vpcId(n.id), state: 'available', cidrBlock: n.cidr, isDefault: n.isDefault, ownerId: call.tenant.id, instanceTenancy: 'default', tagSet: set([{ key: 'Name', value: n.name }]) })),
      ),
    };
  },
};

export const DescribeSubnets: Action = {
  minRole: 'viewer',
  async run(call) {
    const wanted = call.params.list('SubnetId');
    const nets = await listNetworks(call.db, call.tenant.id);
    const missing = wanted.find((w) => !nets.some((n) => subnetId(n.id) === w));
    if (missing) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${missing.slice(0, 40)}' does not exist`);
    return {
      subnetSet: set(
        nets
          .filter((n) => !wanted.length || wanted.includes(subnetId(n.id)))
          .map((n) => ({
            subnetId: subnetId(n.id),
            vpcId: vpcId(n.id),
            state: 'available',
            cidrBlock: n.cidr,
            availabilityZone: ZONE(call.region),
            defaultForAz: n.isDefault,
            mapPublicIpOnLaunch: false,
            ownerId: call.tenant.id,
            tagSet: set([{ key: 'Name', value: n.name }]),
          })),
      ),
    };
  },
};

/** A VPC is a tenant network: created with its range (or the first free /24) and named by its Name tag. */
export const CreateVpc: Action = {
  minRole: 'member',
  async run(call) {
    const name = nameFrom(call.params, 'vpc', (s) => networkNameSchema.safeParse(s).success, 'vpc');
    const input = createNetworkInput.safeParse({ name, cidr: call.params.string('CidrBlock') });
    if (!input.success) throw new Ec2Error('InvalidParameterValue', input.error.issues[0]?.message ?? 'The VPC parameters are not valid.');
    const net = await createNetwork(call.db, call.actor, call.tenant.id, input.data).catch((err) => {
      throw fromDomain(err, { limit: 'VpcLimitExceeded' });
    });
    return { vpc: { vpcId: vpcId(net.id), state: 'available', cidrBlock: net.cidr, isDefault: false, ownerId: call.tenant.id, instanceTenancy: 'default', tagSet: set([{ key: 'Name', value: net.name }]) } };
  },
};

export const DeleteVpc: Action = {
  minRole: 'member',
  async run(call) {
    const wanted = call.params.required('VpcId');
    const net = (await listNetworks(call.db, call.tenant.id)).find((n) => vpcId(n.id) === wanted);
    if (!net) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${wanted.slice(0, 40)}' does not exist`);
    await deleteNetwork(call.db, call.actor, call.tenant.id, net.id).catch((err) => {
      if (err instanceof DomainError && (err.code === 'INVALID_STATE' || err.code === 'CONFLICT')) throw new Ec2Error('DependencyViolation', err.message);
      throw fromDomain(err);
    });
    return { return: true };
  },
};
