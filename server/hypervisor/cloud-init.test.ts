import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seedFiles, writeSeedIso } from './cloud-init';
import { validateGuestSpec } from './spec';
import type { GuestSpec } from './types';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0Jq4yL0b8bq1r0mQ3y8wq2a6oXc1cWmJ3fX8oA9bC alice@laptop';
const spec: GuestSpec = validateGuestSpec({
  id: 'i-0123456789abcdef0',
  vcpus: 2,
  memoryMiB: 1024,
  diskGiB: 4,
  image: 'debian-12',
  nics: [
    { mac: '02:00:00:00:00:01', tap: null },
    { mac: '02:00:00:00:00:02', tap: null },
  ],
  cloudInit: { hostname: 'web-1', sshKeys: [KEY], userData: '#!/bin/sh\necho "quoted: \\"x\\"" > /marker\n', addresses: ['10.30.0.2', null] },
});

describe('seedFiles', () => {
  it('gives cloud-init the instance id, host name, key and addresses, DHCP on every NIC by MAC, and the user data verbatim', () => {
    const files = seedFiles(spec);
    // JSON is YAML: what cloud-init parses is exactly this.
    expect(JSON.parse(files['meta-data'])).toEqual({
      'instance-id': 'i-0123456789abcdef0',
      'local-hostname': 'web-1',
      'public-keys': [KEY],
      'local-ipv4': '10.30.0.2',
      'cirrus-addresses': { eth0: '10.30.0.2', eth1: null },
    });
    expect(JSON.parse(files['network-config'])).toEqual({
      version: 2,
      ethernets: {
        nic0: { match: { macaddress: '02:00:00:00:00:01' }, 'set-name': 'eth0', dhcp4: true, 'dhcp4-overrides': { 'route-metric': 100 } },
        nic1: { match: { macaddress: '02:00:00:00:00:02' }, 'set-name': 'eth1', dhcp4: true, 'dhcp4-overrides': { 'route-metric': 101 } },
      },
    });
    expect(files['user-data']).toBe(spec.cloudInit!.userData);
  });

  it('hands an empty cloud-config when there is no user data', () => {
    expect(seedFiles({ ...spec, cloudInit: { ...spec.cloudInit!, userData: null } })['user-data']).toBe('#cloud-config\n{}\n');
  });
});

describe('validateGuestSpec cloudInit', () => {
  const base = { id: 'g1', vcpus: 1, memoryMiB: 512, diskGiB: 2, nics: [{ mac: '02:00:00:00:00:01', tap: null }], image: 'debian-12' };
  const ci = { hostname: 'web-1', sshKeys: [KEY], userData: null, addresses: ['10.0.0.2'] };
  it.each([
    ['a host name that is not a DNS label', { ...ci, hostname: 'Web 1' }],
    ['a key line with a newline in it', { ...ci, sshKeys: [`${KEY}\nssh-ed25519 AAAA`] }],
    ['a key of another type', { ...ci, sshKeys: ['ssh-dss AAAAB3NzaC1kc3M='] }],
    ['user data over 16 KiB', { ...ci, userData: 'x'.repeat(16 * 1024 + 1) }],
    ['user data with a lone surrogate (not UTF-8)', { ...ci, userData: 'a\ud800b' }],
    ['an address that is not IPv4', { ...ci, addresses: ['10.0.0.256'] }],
    ['more addresses than NICs', { ...ci, addresses: ['10.0.0.2', '10.0.0.3'] }],
  ])('refuses %s', (_, cloudInit) => {
    expect(() => validateGuestSpec({ ...base, cloudInit })).toThrow(/cloudInit/);
  });
  it('accepts 16 KiB of multi-byte UTF-8 exactly, and no cloudInit at all', () => {
    expect(validateGuestSpec({ ...base, cloudInit: { ...ci, userData: 'é'.repeat(8 * 1024) } }).cloudInit?.userData).toHaveLength(8 * 1024);
    expect(validateGuestSpec(base).cloudInit).toBeUndefined();
  });
});

describe('writeSeedIso', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an ISO 9660 volume labelled cidata holding the three files', async () => {
    const iso = path.join(dir, 'seed.iso');
    await writeSeedIso(spec, iso);
    const bytes = readFileSync(iso);
    // The primary volume descriptor at sector 16: "CD001", volume id at offset 40.
    expect(bytes.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString('latin1')).toBe('CD001');
    expect(bytes.subarray(16 * 2048 + 40, 16 * 2048 + 72).toString('latin1').trim()).toBe('cidata');
    // isoinfo (genisoimage's sibling) lists the Rock Ridge names cloud-init reads.
    const listing = execFileSync('isoinfo', ['-R', '-f', '-i', iso], { encoding: 'utf8' });
    expect(listing.split('\n').filter(Boolean).sort()).toEqual(['/meta-data', '/network-config', '/user-data']);
    const userData = execFileSync('isoinfo', ['-R', '-x', '/user-data', '-i', iso], { encoding: 'utf8' });
    expect(userData).toBe(spec.cloudInit!.userData);
  });
});
