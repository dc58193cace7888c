// Real keys from OpenSSH's own ssh-keygen, in a throw-away directory, for the
// tests of ./parse.ts and ./generate.ts (ssh-keygen is the reference both must
// agree with). Only tests import this.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export function requireSshKeygen() {
  if (!fs.existsSync(SSH_KEYGEN)) {
    throw new Error(`These tests compare with OpenSSH's ssh-keygen, which is missing: apt-get install openssh-client (${SSH_KEYGEN}).`);
  }
}

export function sshKeygen(args: string[], input?: string): string {
  return execFileSync(SSH_KEYGEN, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export type KeyDir = { dir: string; file: (name: string) => string; cleanup: () => void };

export function keyDir(): KeyDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-keys-'));
  return { dir, file: (name) => path.join(dir, name), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** `ssh-keygen -t <type> [-b bits]` without a passphrase; returns the private key's path (the public one is `<path>.pub`). */
export function makeKey(d: KeyDir, name: string, type: string, opts: { bits?: number; comment?: string; format?: 'PEM' | 'PKCS8' } = {}): string {
  const file = d.file(name);
  const args = ['-q', '-t', type, '-N', '', '-C', opts.comment ?? `${name}@cirrus-test`, '-f', file];
  if (opts.bits) args.push('-b', String(opts.bits));
  if (opts.format) args.push('-m', opts.format);
  sshKeygen(args);
  return file;
}

/** What `ssh-keygen -lf` says of a key file: its size and SHA256 fingerprint. */
export function keygenFingerprint(file: string): { bits: number; fingerprint: string } {
  const [bits, fingerprint] = sshKeygen(['-l', '-E', 'sha256', '-f', file]).trim().split(/\s+/);
  return { bits: Number(bits), fingerprint: fingerprint! };
}
