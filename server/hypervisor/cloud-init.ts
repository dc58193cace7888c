// The NoCloud seed a cloud-init image reads at boot: `meta-data` (instance id,
// host name, keys, addresses), `user-data` (the tenant's cloud-config or
// script, verbatim) and `network-config` (DHCP on every NIC, named by MAC),
// on a small read-only ISO 9660 volume labelled "cidata".
//
// Why a seed disk and not a metadata service at 169.254.169.254: it needs no
// listener on the tenant network, works the same on user-mode NICs, and the
// guest reads it before its network is up. The YAML files are written as
// JSON (a subset of YAML that PyYAML reads), so no value can escape its string.
import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { GuestSpec } from './types';

const run = promisify(execFile);

export const SEED_VOLUME_LABEL = 'cidata';

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config': string;
}

/** The seed's three files for a validated spec that has `cloudInit`. */
export function seedFiles(spec: GuestSpec): SeedFiles {
  const ci = spec.cloudInit;
  if (!ci) throw new Error(`guest ${spec.id} has no cloud-init settings`);
  const addresses = Object.fromEntries(spec.nics.map((_, i) => [`eth${i}`, ci.addresses[i] ?? null]));
  const metaData = {
    'instance-id': spec.id,
    'local-hostname': ci.hostname,
    'public-keys': ci.sshKeys,
    'local-ipv4': ci.addresses[0] ?? null,
    // Not read by cloud-init itself; it lands in /run/cloud-init/instance-data.json for the tenant's own tools.
    'cirrus-addresses': addresses,
  };
  const networkConfig = {
    version: 2,
    ethernets: Object.fromEntries(
      spec.nics.map((nic, i) => [`nic${i}`, { match: { macaddress: nic.mac }, 'set-name': `eth${i}`, dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 + i } }]),
    ),
  };
  return {
    'meta-data': JSON.stringify(metaData, null, 2) + '\n',
    // cloud-init needs some user data; an empty cloud-config changes nothing.
    'user-data': ci.userData ?? '#cloud-config\n{}\n',
    'network-config': JSON.stringify(networkConfig, null, 2) + '\n',
  };
}

/** Write the seed volume to `isoPath` (replacing it), with genisoimage. */
export async function writeSeedIso(spec: GuestSpec, isoPath: string, genisoimage = 'genisoimage'): Promise<void> {
  const files = seedFiles(spec);
  const work = mkdtempSync(path.join(path.dirname(isoPath), '.seed-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(work, name), text, { mode: 0o600 });
    const tmp = path.join(work, 'seed.iso');
    await run(genisoimage, ['-quiet', '-output', tmp, '-volid', SEED_VOLUME_LABEL, '-joliet', '-rock', ...Object.keys(files).map((n) => path.join(work, n))]);
    // Rename last: a seed is there whole or not at all.
    renameSync(tmp, isoPath);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
