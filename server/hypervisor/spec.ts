import { HypervisorError, type GuestSpec } from './types';

export const GUEST_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Hard ceilings: anything above is a mistake, whatever the host. */
export const SPEC_LIMITS = {
  vcpus: { min: 1, max: 64 },
  memoryMiB: { min: 16, max: 512 * 1024 },
  diskGiB: { min: 1, max: 16 * 1024 },
  nics: { min: 0, max: 8 },
} as const;

export interface ImageLimits {
  minMemoryMiB: number;
  minDiskGiB: number;
}

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new HypervisorError('INVALID_SPEC', `${name} must be a whole number, got ${JSON.stringify(v)}`);
  }
  if (v < min || v > max) throw new HypervisorError('INVALID_SPEC', `${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function validateGuestId(id: unknown): string {
  if (typeof id !== 'string' || !GUEST_ID_PATTERN.test(id)) {
    throw new HypervisorError('INVALID_SPEC', `guest id must match ${GUEST_ID_PATTERN.source}, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** A spec known to be safe to turn into paths and arguments; throws INVALID_SPEC otherwise. */
export function validateGuestSpec(raw: unknown, image?: ImageLimits): GuestSpec {
  if (typeof raw !== 'object' || raw === null) throw new HypervisorError('INVALID_SPEC', 'guest spec must be an object');
  const s = raw as Record<string, unknown>;
  const spec: GuestSpec = {
    id: validateGuestId(s.id),
    vcpus: intIn('vcpus', s.vcpus, SPEC_LIMITS.vcpus.min, SPEC_LIMITS.vcpus.max),
    memoryMiB: intIn('memoryMiB', s.memoryMiB, SPEC_LIMITS.memoryMiB.min, SPEC_LIMITS.memoryMiB.max),
    diskGiB: intIn('diskGiB', s.diskGiB, SPEC_LIMITS.diskGiB.min, SPEC_LIMITS.diskGiB.max),
    nics: intIn('nics', s.nics, SPEC_LIMITS.nics.min, SPEC_LIMITS.nics.max),
    image: typeof s.image === 'string' && GUEST_ID_PATTERN.test(s.image) ? s.image : '',
  };
  if (!spec.image) throw new HypervisorError('INVALID_SPEC', `image must be a catalog id, got ${JSON.stringify(s.image)}`);
  if (image && spec.memoryMiB < image.minMemoryMiB) {
    throw new HypervisorError('INVALID_SPEC', `image ${spec.image} needs at least ${image.minMemoryMiB} MiB of memory, got ${spec.memoryMiB}`);
  }
  if (image && spec.diskGiB < image.minDiskGiB) {
    throw new HypervisorError('INVALID_SPEC', `image ${spec.image} needs a disk of at least ${image.minDiskGiB} GiB, got ${spec.diskGiB}`);
  }
  return spec;
}
