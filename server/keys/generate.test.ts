import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519 } from './generate';
import { PRIVATE_KEY_SENTENCE } from './line';
import { parsePublicKey } from './parse';
import { keyDir, keygenFingerprint, requireSshKeygen, sshKeygen, type KeyDir } from './ssh-keygen-for-tests';

let d: KeyDir;
beforeAll(() => {
  requireSshKeygen();
  d = keyDir();
});
afterAll(() => d?.cleanup());

describe('generateEd25519', () => {
  it('writes a private key OpenSSH reads, whose public half is the line it returns', () => {
    const { publicKey, privateKey } = generateEd25519('laptop key');
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,70}\n)+-----END OPENSSH PRIVATE KEY-----\n$/);
    const file = d.file('generated');
    fs.writeFileSync(file, privateKey, { mode: 0o600 });
    // ssh-keygen -y derives the public key from the private one (and prints its comment).
    expect(sshKeygen(['-y', '-f', file]).trim()).toBe(publicKey.line);
    expect(publicKey).toMatchObject({ keyType: 'ed25519', sshType: 'ssh-ed25519', bits: 256, comment: 'laptop key' });
    fs.writeFileSync(`${file}.pub`, `${publicKey.line}\n`);
    expect(keygenFingerprint(`${file}.pub`)).toEqual({ bits: 256, fingerprint: publicKey.fingerprint });
    expect(keygenFingerprint(file)).toEqual({ bits: 256, fingerprint: publicKey.fingerprint });
  });

  it('signs what its public key verifies (the seed and the public key belong together)', () => {
    const { publicKey, privateKey } = generateEd25519('signer');
    const key = d.file('signer');
    fs.writeFileSync(key, privateKey, { mode: 0o600 });
    const message = d.file('message');
    fs.writeFileSync(message, 'hello from cirrus\n');
    sshKeygen(['-Y', 'sign', '-f', key, '-n', 'cirrus-test', message]);
    fs.writeFileSync(d.file('allowed'), `signer@cirrus ${publicKey.line}\n`);
    const verified = sshKeygen(
      ['-Y', 'verify', '-f', d.file('allowed'), '-I', 'signer@cirrus', '-n', 'cirrus-test', '-s', `${message}.sig`],
      fs.readFileSync(message, 'utf8'),
    );
    expect(verified).toMatch(/Good "cirrus-test" signature for signer@cirrus/);
  });

  it('makes a new key every time, and the private key is refused as a public one', () => {
    const a = generateEd25519('a');
    const b = generateEd25519('a');
    expect(a.publicKey.fingerprint).not.toBe(b.publicKey.fingerprint);
    expect(a.privateKey).not.toBe(b.privateKey);
    expect(parsePublicKey(a.privateKey)).toEqual({ ok: false, message: PRIVATE_KEY_SENTENCE });
  });

  it('sanitises the comment it embeds', () => {
    const { publicKey, privateKey } = generateEd25519('  my\tkey\u0000 ');
    expect(publicKey.comment).toBe('my key');
    const file = d.file('commented');
    fs.writeFileSync(file, privateKey, { mode: 0o600 });
    expect(sshKeygen(['-y', '-f', file]).trim()).toBe(publicKey.line);
    expect(generateEd25519('').publicKey.comment).toBeNull();
  });
});
