// Volume input: plain data and zod schemas, shared by the server and the forms.
import { z } from 'zod';
import { instanceIdSchema } from '../instances/validation';
import { snapshotIdSchema } from '../snapshots/validation';

export const VOLUME_ID_RE = /^vol-[0-9a-f]{17}$/;
export const volumeIdSchema = z.string().regex(VOLUME_ID_RE, 'That is not a volume id.');

/** Like EBS gp3: a baseline of IOPS and MB/s comes with every volume; more is provisioned and priced. */
export const VOLUME_IO = {
  iops: { min: 100, max: 16_000, baseline: 3_000 },
  mbps: { min: 1, max: 1_000, baseline: 125 },
} as const;
export const MAX_VOLUME_GIB = 16_384;
/** How many volumes an instance can have attached at once (the driver's MAX_VOLUMES). */
export const MAX_VOLUMES_PER_INSTANCE = 8;

export const volumeNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the volume a name.')
  .max(64, 'A volume name is at most 64 characters.')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._:-]*$/u, 'Use letters, digits, spaces and . _ : - (starting with a letter or digit).');
export const volumeSizeSchema = z
  .int('A size is a whole number of GiB.')
  .min(1, 'A volume is at least 1 GiB.')
  .max(MAX_VOLUME_GIB, `A volume is at most ${MAX_VOLUME_GIB} GiB.`);
export const volumeIopsSchema = z
  .int('IOPS is a whole number.')
  .min(VOLUME_IO.iops.min, `At least ${VOLUME_IO.iops.min} IOPS.`)
  .max(VOLUME_IO.iops.max, `At most ${VOLUME_IO.iops.max} IOPS.`);
export const volumeMbpsSchema = z
  .int('Throughput is a whole number of MB/s.')
  .min(VOLUME_IO.mbps.min, `At least ${VOLUME_IO.mbps.min} MB/s.`)
  .max(VOLUME_IO.mbps.max, `At most ${VOLUME_IO.mbps.max} MB/s.`);

export const createVolumeInput = z
  .object({
    name: volumeNameSchema,
    /** GiB; from a snapshot, at least its instance's disk size (its default). */
    sizeGiB: volumeSizeSchema.optional(),
    snapshotId: snapshotIdSchema.optional(),
    iops: volumeIopsSchema.default(VOLUME_IO.iops.baseline),
    mbps: volumeMbpsSchema.default(VOLUME_IO.mbps.baseline),
  })
  .refine((v) => v.sizeGiB !== undefined || v.snapshotId !== undefined, { message: 'Give the volume a size (GiB).', path: ['sizeGiB'] });
export type CreateVolumeInput = z.infer<typeof createVolumeInput>;

export const attachVolumeInput = z.object({ volumeId: volumeIdSchema, instanceId: instanceIdSchema });

/** What a volume with these I/O figures is billed for above the baseline (never negative). */
export function provisionedIo(v: { iops: number; mbps: number }): { iops: number; mbps: number } {
  return { iops: Math.max(0, v.iops - VOLUME_IO.iops.baseline), mbps: Math.max(0, v.mbps - VOLUME_IO.mbps.baseline) };
}

/** Micro-units per hour of a volume at these prices. */
export function volumeHourlyMicro(v: { sizeGiB: number; iops: number; mbps: number }, p: { volumeGiBHour: number; volumeIopsHour: number; volumeMbpsHour: number }): number {
  const extra = provisionedIo(v);
  return v.sizeGiB * p.volumeGiBHour + extra.iops * p.volumeIopsHour + extra.mbps * p.volumeMbpsHour;
}
