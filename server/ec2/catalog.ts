// What a tenant can launch, in EC2's words: the region and its zone, images
// (AMIs), instance types (flavors), and key pairs.
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { flavors, keyPairs } from '../db/schema';
import { listLaunchableImages } from '../images/images';
import { deleteKeyPair, generateKeyPair, importKeyPair, keyPairColumns, keyPairsOf } from '../keys/key-pairs';
import { keyPairNameSchema } from '../keys/validation';
import { ZONE, type Action, type Call } from './call';
import { Ec2Error, fromDomain } from './errors';
import { filters } from './params';
import { set } from './xml';

export const DescribeRegions: Action = {
  minRole: 'viewer',
  async run(call) {
    return { regionInfo: set([{ regionName: call.region, regionEndpoint: 'this endpoint', optInStatus: 'opt-in-not-required' }]) };
  },
};

export const DescribeAvailabilityZones: Action = {
  minRole: 'viewer',
  async run(call) {
    return {
      availabilityZoneInfo: set([
        { zoneName: ZONE(call.region), zoneState: 'available', regionName: call.region, zoneId: `${call.region}-az1`, zoneType: 'availability-zone', optInStatus: 'opt-in-not-required', messageSet: set([]) },
      ]),
    };
  },
};

const IMAGE_FILTERS = new Set(['image-id', 'name', 'architecture', 'is-public', 'state']);

export const DescribeImages: Action = {
  minRole: 'viewer',
  async run(call) {
    const ids = call.params.list('ImageId');
    const fs = filters(call.params, (n) => IMAGE_FILTERS.has(n));
    const owners = call.params.list('Owner');
    let rows = await listLaunchableImages(call.db, call.tenant.id);
    if (ids.length) {
      const missing = ids.filter((id) => !rows.some((r) => r.id === id));
      if (missing.length) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
      rows = rows.filter((r) => ids.includes(r.id));
    }
    if (owners.includes('self')) rows = rows.filter((r) => r.ownerTenantId === call.tenant.id);
    const pub = (r: (typeof rows)[number]) => !r.captured || r.published;
    for (const f of fs) {
      rows = rows.filter((r) =>
        f.name === 'image-id' ? f.values.includes(r.id)
        : f.name === 'name' ? f.values.includes(r.name)
        : f.name === 'architecture' ? f.values.includes(r.architecture)
        : f.name === 'is-public' ? f.values.includes(String(pub(r)))
        : f.values.includes('available'),
      );
    }
    return {
      imagesSet: set(
        rows.map((r) => ({
          imageId: r.id,
          name: r.name,
          description: r.description,
          imageState: 'available',
          imageOwnerId: r.ownerTenantId ?? 'cirrus',
          isPublic: pub(r),
          architecture: r.architecture,
          imageType: 'machine',
          platformDetails: `${r.osFamily}${r.osVersion ? ` ${r.osVersion}` : ''}`,
          rootDeviceType: 'ebs',
          rootDeviceName: '/dev/vda',
          virtualizationType: 'hvm',
          blockDeviceMapping: set([{ deviceName: '/dev/vda', ebs: { volumeSize: r.minDiskGiB, deleteOnTermination: true, volumeType: 'standard' } }]),
          tagSet: set([]),
        })),
      ),
    };
  },
};

export const DescribeInstanceTypes: Action = {
  minRole: 'viewer',
  async run(call) {
    const wanted = call.params.list('InstanceType');
    const fs = filters(call.params, (n) => n === 'instance-type');
    const names = [...wanted, ...fs.flatMap((f) => f.values)];
    const rows = await call.db
      .select()
      .from(flavors)
      .where(names.length ? sql`${flavors.enabled} and ${inArray(flavors.name, names)}` : eq(flavors.enabled, true))
      .orderBy(asc(flavors.vcpus), asc(flavors.memoryMiB), asc(flavors.name));
    const missing = wanted.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length) throw new Ec2Error('InvalidInstanceType', `The instance type '${missing[0]!.slice(0, 40)}' does not exist in this region.`);
    return {
      instanceTypeSet: set(
        rows.map((f) => ({
          instanceType: f.name,
          currentGeneration: true,
          bareMetal: false,
          hypervisor: 'kvm',
          processorInfo: { supportedArchitectures: set(['x86_64']) },
          vCpuInfo: { defaultVCpus: f.vcpus, defaultCores: f.vcpus, defaultThreadsPerCore: 1 },
          memoryInfo: { sizeInMiB: f.memoryMiB },
          instanceStorageSupported: false,
          ebsInfo: { ebsOptimizedSupport: 'unsupported' },
          networkInfo: { maximumNetworkInterfaces: f.nics, networkPerformance: `${f.bandwidthMbit} Mbit/s per interface` },
          supportedRootDeviceTypes: set(['ebs']),
          supportedVirtualizationTypes: set(['hvm']),
        })),
      ),
    };
  },
};

// ---------------------------------------------------------------- key pairs

const keyXml = (k: { id: string; name: string; fingerprint: string; keyType: string; publicKey?: string; createdAt?: Date }) => ({
  keyPairId: k.id,
  keyName: k.name,
  keyFingerprint: k.fingerprint,
  keyType: k.keyType,
  publicKey: k.publicKey,
  createTime: k.createdAt,
  tagSet: set([]),
});

function keyName(call: Call): string {
  const parsed = keyPairNameSchema.safeParse(call.params.required('KeyName'));
  if (!parsed.success) throw new Ec2Error('InvalidParameterValue', parsed.error.issues[0]?.message ?? 'That key name is not valid.');
  return parsed.data;
}

const keyErrors = (err: unknown) => {
  const e = fromDomain(err, { limit: 'ResourceLimitExceeded' });
  if (e instanceof Ec2Error && /already exists/.test(e.message)) return new Ec2Error('InvalidKeyPair.Duplicate', e.message);
  return e;
};

export const DescribeKeyPairs: Action = {
  minRole: 'viewer',
  async run(call) {
    const names = call.params.list('KeyName');
    const ids = call.params.list('KeyPairId');
    const rows = await call.db.select(keyPairColumns).from(keyPairs).where(keyPairsOf(call.tenant.id)).orderBy(asc(keyPairs.name)).limit(1000);
    const missing = [...names.filter((n) => !rows.some((r) => r.name.toLowerCase() === n.toLowerCase())), ...ids.filter((id) => !rows.some((r) => r.id === id))];
    if (missing.length) throw new Ec2Error('InvalidKeyPair.NotFound', `The key pair '${missing[0]!.slice(0, 80)}' does not exist`);
    const picked = names.length || ids.length ? rows.filter((r) => names.some((n) => n.toLowerCase() === r.name.toLowerCase()) || ids.includes(r.id)) : rows;
    const withKey = call.params.bool('IncludePublicKey') ?? false;
    return { keySet: set(picked.map((k) => keyXml({ ...k, publicKey: withKey ? k.publicKey : undefined }))) };
  },
};

export const CreateKeyPair: Action = {
  minRole: 'member',
  async run(call) {
    const name = keyName(call);
    const type = call.params.string('KeyType') ?? 'ed25519';
    if (type !== 'ed25519') throw new Ec2Error('InvalidParameterValue', 'Cirrus generates ed25519 key pairs only; import an RSA public key with ImportKeyPair.');
    const format = call.params.string('KeyFormat') ?? 'pem';
    if (format !== 'pem') throw new Ec2Error('InvalidParameterValue', 'KeyFormat is pem (an OpenSSH private key).');
    const { keyPair, privateKey } = await generateKeyPair(call.db, call.actor, call.tenant.id, { name }).catch((err) => {
      throw keyErrors(err);
    });
    return { keyPairId: keyPair.id, keyName: keyPair.name, keyFingerprint: keyPair.fingerprint, keyMaterial: privateKey, tagSet: set([]) };
  },
};

export const ImportKeyPair: Action = {
  minRole: 'member',
  async run(call) {
    const name = keyName(call);
    const material = call.params.required('PublicKeyMaterial');
    // Clients send the key file base64-encoded; a raw OpenSSH line is taken as it is.
    const text = /^(ssh-|ecdsa-)/.test(material) ? material : Buffer.from(material, 'base64').toString('utf8');
    const k = await importKeyPair(call.db, call.actor, call.tenant.id, { name, publicKey: text.trim() }).catch((err) => {
      throw keyErrors(err);
    });
    return { keyPairId: k.id, keyName: k.name, keyFingerprint: k.fingerprint, tagSet: set([]) };
  },
};

export const DeleteKeyPair: Action = {
  minRole: 'member',
  async run(call) {
    const id = call.params.string('KeyPairId');
    const name = call.params.string('KeyName');
    if (!id && !name) throw new Ec2Error('MissingParameter', 'The request must contain the parameter KeyName or KeyPairId.');
    const [row] = await call.db
      .select({ id: keyPairs.id })
      .from(keyPairs)
      .where(keyPairsOf(call.tenant.id, id ? sql`${keyPairs.id}::text = ${id}` : sql`lower(${keyPairs.name}) = lower(${name})`));
    // Deleting a key pair that is not there succeeds, as in EC2.
    if (row) await deleteKeyPair(call.db, call.actor, call.tenant.id, row.id);
    return { return: true, keyPairId: row?.id };
  },
};
