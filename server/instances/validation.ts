import { z } from 'zod';
import { MAX_USER_DATA_BYTES } from '../hypervisor/limits';
import { launchInterfaceSchema, rateSchema } from '../network/validation';
import { instanceStates } from './can';
import { snapshotIdSchema } from '../snapshots/validation';

// Shared by tRPC and the launch form. Upper bounds are per instance; quotas and
// host capacity narrow them further at launch.
export const LIMITS = {
  vcpus: { min: 1, max: 32 },
  memoryMiB: { min: 64, max: 262_144 },
  diskGiB: { min: 1, max: 2_048 },
  nics: { min: 1, max: 8 },
} as const;

const intIn = (label: string, { min, max }: { min: number; max: number }, unit = '') =>
  z
    .number({ error: `Enter a whole number for ${label}.` })
    .int(`Enter a whole number for ${label}.`)
    .min(min, `${label} must be at least ${min}${unit}.`)
    .max(max, `${label} must be at most ${max}${unit}.`);

export const instanceNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the instance a name.')
  .max(63, 'Name must be at most 63 characters.')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'Use letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.');

export const tagsSchema = z
  .record(
    z.string().trim().min(1, 'Tag keys cannot be empty.').max(63, 'Tag keys are at most 63 characters.').regex(/^[A-Za-z0-9_.:/-]+$/, 'Tag keys use letters, digits and _ . : / -'),
    z.string().max(255, 'Tag values are at most 255 characters.'),
  )
  .refine((t) => Object.keys(t).length <= 20, 'At most 20 tags.');

export { MAX_USER_DATA_BYTES };

/** Cloud-config or a script for cloud-init: UTF-8 text, at most 16 KiB. */
export const userDataSchema = z
  .string()
  .refine((t) => !/[\ud800-\udfff]/u.test(t) && !t.includes('\u0000'), 'User data must be UTF-8 text (a cloud-config or a script), not binary.')
  .refine((t) => new TextEncoder().encode(t).length <= MAX_USER_DATA_BYTES, `User data must be at most ${MAX_USER_DATA_BYTES / 1024} KiB.`);

/** A spread group's name: lower-case letters, digits and dashes. */
export const spreadGroupSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'A spread group is lower-case letters, digits and dashes (at most 63), starting with a letter or digit.');

const launchFields = z.object({
  name: instanceNameSchema,
  imageId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Choose an image.'),
  vcpus: intIn('vCPUs', LIMITS.vcpus),
  memoryMiB: intIn('Memory', LIMITS.memoryMiB, ' MiB'),
  diskGiB: intIn('Disk', LIMITS.diskGiB, ' GiB'),
  nics: intIn('Network interfaces', LIMITS.nics),
  /** Per NIC, in order: its network and rate. Omitted: every NIC on the default network at 100 Mbit/s. */
  interfaces: z.array(launchInterfaceSchema).max(LIMITS.nics.max).optional(),
  tags: tagsSchema.optional(),
  /** A key pair of the tenant's: its public key goes on the image's login user. */
  keyPairId: z.string().uuid('Choose one of your key pairs.').optional(),
  userData: userDataSchema.optional(),
  /** Room to hot-add vCPUs and memory into while it runs (images that online them); omitted: none. */
  maxVcpus: intIn('The vCPU ceiling', LIMITS.vcpus).optional(),
  maxMemoryMiB: intIn('The memory ceiling', LIMITS.memoryMiB, ' MiB').optional(),
  /** Anti-affinity: the tenant's instances with the same spread group run on different hosts. */
  spreadGroup: spreadGroupSchema.optional(),
  /** High availability: its disk goes on the shared pool, and when its host goes down it restarts on another. */
  autoRecover: z.boolean().optional(),
});

/** The room to grow into is no smaller than the size. */
const roomFits = <S extends z.ZodType<{ vcpus?: number; memoryMiB?: number; maxVcpus?: number; maxMemoryMiB?: number }>>(schema: S): S =>
  schema
    .refine((l) => l.maxVcpus === undefined || l.vcpus === undefined || l.maxVcpus >= l.vcpus, { message: 'The most vCPUs it can grow to is at least the vCPUs it has.', path: ['maxVcpus'] })
    .refine((l) => l.maxMemoryMiB === undefined || l.memoryMiB === undefined || l.maxMemoryMiB >= l.memoryMiB, {
      message: 'The most memory it can grow to is at least the memory it has.',
      path: ['maxMemoryMiB'],
    });

export const launchInput = roomFits(
  launchFields.refine((l) => !l.interfaces || l.interfaces.length === l.nics, {
    message: 'Give each network interface its network and rate (one entry per interface).',
    path: ['interfaces'],
  }),
);
export type LaunchInput = z.infer<typeof launchInput>;

/** A flavor is a launch size: the same bounds as a launch, under a short name. */
export const flavorSpecSchema = launchFields.pick({ vcpus: true, memoryMiB: true, diskGiB: true, nics: true }).extend({
  /** Each NIC's rate when a launch from this flavor picks none (the table's default, 100 Mbit/s, when omitted). */
  bandwidthMbit: rateSchema.optional(),
  name: z
    .string()
    .trim()
    .min(1, 'Give the flavor a name.')
    .max(40, 'Flavor names are at most 40 characters.')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'Use letters, digits, dots, dashes and underscores; start with a letter or digit.'),
});
export type FlavorSpec = z.infer<typeof flavorSpecSchema>;

export const instanceIdSchema = z.string().regex(/^i-[0-9a-f]{17}$/, 'Unknown instance id.');

/** A clone of an instance: of one of its snapshots, or (no snapshot) of its disk as it is at that moment. */
export const cloneInput = z.object({
  instanceId: instanceIdSchema,
  snapshotId: snapshotIdSchema.nullish(),
  name: instanceNameSchema,
  /** Linked: its disk is a copy-on-write overlay on the source's (made at once); full: a copy of its own. */
  linked: z.boolean().default(true),
  tags: tagsSchema.optional(),
});
export type CloneInput = z.infer<typeof cloneInput>;

/** A new size for an instance; what is left out stays. */
export const resizeInput = roomFits(
  z.object({
    instanceId: instanceIdSchema,
    vcpus: intIn('vCPUs', LIMITS.vcpus).optional(),
    memoryMiB: intIn('Memory', LIMITS.memoryMiB, ' MiB').optional(),
    diskGiB: intIn('Disk', LIMITS.diskGiB, ' GiB').optional(),
    /** Stopped only; new NICs join the network of its first NIC at the default rate. */
    nics: intIn('Network interfaces', LIMITS.nics).optional(),
    maxVcpus: intIn('The vCPU ceiling', LIMITS.vcpus).optional(),
    maxMemoryMiB: intIn('The memory ceiling', LIMITS.memoryMiB, ' MiB').optional(),
  }),
);
export type ResizeInput = z.infer<typeof resizeInput>;

export const listInput = z.object({
  cursor: z.string().max(200).nullish(),
  limit: z.int().min(1).max(100).default(20),
  states: z.array(z.enum(instanceStates)).max(8).optional(),
  /** Without `states`, terminated instances are left out. */
  includeTerminated: z.boolean().default(false),
  name: z.string().trim().max(63).optional(),
  tag: z.object({ key: z.string().max(63), value: z.string().max(255).optional() }).optional(),
  sort: z.enum(['newest', 'oldest', 'name']).default('newest'),
});
export type ListInput = z.infer<typeof listInput>;
