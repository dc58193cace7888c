import { createHash } from 'node:crypto';
import { MAX_USER_DATA_BYTES } from './limits';
import { formatIp4, ip4 } from './net/ipv4';
import { DNS_LABEL_PATTERN } from './net/spec';
import { HypervisorError, type CloudInitSpec, type GuestSpec, type NicSpec } from './types';
import { validateVolumes } from './volumes';

export const GUEST_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const MAC_PATTERN = /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/;
/** Tap names come from server/hypervisor/net (`ct` + host tag + hash): nothing else reaches QEMU's ifname=. */
export const TAP_PATTERN = /^ct[0-3][0-9a-f]{12}$/;

/**
 * A stable, locally administered unicast MAC for NIC `index` of guest `id`:
 * 02 followed by five bytes of sha256("<id>/<index>").
 */
export function macAddress(id: string, index: number): string {
  const h = createHash('sha256').update(`${id}/${index}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

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

function nicsOf(id: string, v: unknown): NicSpec[] {
  // Guests created before NICs had networks stored a count: user-mode NICs with derived MACs.
  if (typeof v === 'number') return Array.from({ length: intIn('nics', v, SPEC_LIMITS.nics.min, SPEC_LIMITS.nics.max) }, (_, i) => ({ mac: macAddress(id, i), tap: null }));
  if (!Array.isArray(v) || v.length > SPEC_LIMITS.nics.max) throw new HypervisorError('INVALID_SPEC', `nics must be a list of at most ${SPEC_LIMITS.nics.max} NICs`);
  const macs = new Set<string>();
  return v.map((raw: unknown, i) => {
    const n = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof n.mac !== 'string' || !MAC_PATTERN.test(n.mac) || macs.has(n.mac)) {
      throw new HypervisorError('INVALID_SPEC', `NIC ${i} needs a unique locally administered unicast MAC, got ${JSON.stringify(n.mac)}`);
    }
    macs.add(n.mac);
    if (n.tap !== null && (typeof n.tap !== 'string' || !TAP_PATTERN.test(n.tap))) {
      throw new HypervisorError('INVALID_SPEC', `NIC ${i} tap must match ${TAP_PATTERN.source} or be null, got ${JSON.stringify(n.tap)}`);
    }
    return { mac: n.mac, tap: n.tap as string | null };
  });
}

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new HypervisorError('INVALID_SPEC', `${name} must be a whole number, got ${JSON.stringify(v)}`);
  }
  if (v < min || v > max) throw new HypervisorError('INVALID_SPEC', `${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** One OpenSSH public key line of a type Cirrus accepts: nothing that could break out of a YAML string or a line. */
export const SSH_KEY_LINE_PATTERN = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [\x21-\x7e][\x20-\x7e]{0,99})?$/;
const isIpv4 = (a: string) => {
  try {
    return formatIp4(ip4(a)) === a;
  } catch {
    return false;
  }
};

function cloudInitOf(v: unknown, nics: number): CloudInitSpec | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw new HypervisorError('INVALID_SPEC', 'cloudInit must be an object or null');
  const c = v as Record<string, unknown>;
  if (typeof c.hostname !== 'string' || !DNS_LABEL_PATTERN.test(c.hostname)) {
    throw new HypervisorError('INVALID_SPEC', `cloudInit.hostname must be a host name label, got ${JSON.stringify(c.hostname)}`);
  }
  const keys = c.sshKeys ?? [];
  if (!Array.isArray(keys) || keys.length > 10 || !keys.every((k) => typeof k === 'string' && SSH_KEY_LINE_PATTERN.test(k))) {
    throw new HypervisorError('INVALID_SPEC', 'cloudInit.sshKeys must be at most 10 OpenSSH public key lines');
  }
  const userData = c.userData ?? null;
  if (userData !== null && (typeof userData !== 'string' || Buffer.byteLength(userData, 'utf8') > MAX_USER_DATA_BYTES || userData.includes('\u0000') || /[\ud800-\udfff]/u.test(userData))) {
    throw new HypervisorError('INVALID_SPEC', `cloudInit.userData must be text of at most ${MAX_USER_DATA_BYTES} bytes of UTF-8`);
  }
  const addresses = c.addresses ?? [];
  if (!Array.isArray(addresses) || addresses.length > nics || !addresses.every((a) => a === null || (typeof a === 'string' && isIpv4(a)))) {
    throw new HypervisorError('INVALID_SPEC', 'cloudInit.addresses must list an IPv4 address or null per NIC');
  }
  return { hostname: c.hostname, sshKeys: keys as string[], userData: userData as string | null, addresses: addresses as (string | null)[] };
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
  const id = validateGuestId(s.id);
  const spec: GuestSpec = {
    id,
    vcpus: intIn('vcpus', s.vcpus, SPEC_LIMITS.vcpus.min, SPEC_LIMITS.vcpus.max),
    memoryMiB: intIn('memoryMiB', s.memoryMiB, SPEC_LIMITS.memoryMiB.min, SPEC_LIMITS.memoryMiB.max),
    diskGiB: intIn('diskGiB', s.diskGiB, SPEC_LIMITS.diskGiB.min, SPEC_LIMITS.diskGiB.max),
    nics: nicsOf(id, s.nics),
    image: typeof s.image === 'string' && GUEST_ID_PATTERN.test(s.image) ? s.image : '',
  };
  // Room to hot-add vCPUs and memory into while it runs (none when absent).
  if (s.maxVcpus !== undefined && s.maxVcpus !== null) spec.maxVcpus = intIn('maxVcpus', s.maxVcpus, spec.vcpus, SPEC_LIMITS.vcpus.max);
  if (s.maxMemoryMiB !== undefined && s.maxMemoryMiB !== null) spec.maxMemoryMiB = intIn('maxMemoryMiB', s.maxMemoryMiB, spec.memoryMiB, SPEC_LIMITS.memoryMiB.max);
  const cloudInit = cloudInitOf(s.cloudInit, spec.nics.length);
  if (cloudInit) spec.cloudInit = cloudInit;
  const volumes = validateVolumes(s.volumes);
  if (volumes.length) spec.volumes = volumes;
  if (!spec.image) throw new HypervisorError('INVALID_SPEC', `image must be a catalog id, got ${JSON.stringify(s.image)}`);
  if (image && spec.memoryMiB < image.minMemoryMiB) {
    throw new HypervisorError('INVALID_SPEC', `image ${spec.image} needs at least ${image.minMemoryMiB} MiB of memory, got ${spec.memoryMiB}`);
  }
  if (image && spec.diskGiB < image.minDiskGiB) {
    throw new HypervisorError('INVALID_SPEC', `image ${spec.image} needs a disk of at least ${image.minDiskGiB} GiB, got ${spec.diskGiB}`);
  }
  return spec;
}
