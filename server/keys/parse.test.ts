import fs from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_SENTENCE } from './line';
import { parsePublicKey, wireString } from './parse';
import { keyDir, keygenFingerprint, makeKey, requireSshKeygen, sshKeygen, type KeyDir } from './ssh-keygen-for-tests';

let d: KeyDir;
beforeAll(() => {
  requireSshKeygen();
  d = keyDir();
});
afterAll(() => d?.cleanup());

const pub = (file: string) => fs.readFileSync(`${file}.pub`, 'utf8');
const refusal = (text: string) => {
  const r = parsePublicKey(text);
  if (r.ok) throw new Error(`expected a refusal, got ${r.key.line}`);
  return r.message;
};
const b64 = (...fields: Buffer[]) => Buffer.concat(fields).toString('base64');
/** A line from wire fields, for keys ssh-keygen would never write. */
const crafted = (type: string, ...fields: Buffer[]) => `${type} ${b64(wireString(type), ...fields)}`;
const fieldsOf = (line: string) => {
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const n = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
};

describe('parsePublicKey with keys made by ssh-keygen', () => {
  it.each([
    ['ed25519', undefined, 'ssh-ed25519', 'ed25519', 256],
    ['ecdsa', 256, 'ecdsa-sha2-nistp256', 'ecdsa', 256],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384', 'ecdsa', 384],
    ['ecdsa', 521, 'ecdsa-sha2-nistp521', 'ecdsa', 521],
    ['rsa', 2048, 'ssh-rsa', 'rsa', 2048],
    ['rsa', 3072, 'ssh-rsa', 'rsa', 3072],
  ] as const)('accepts %s %s with the fingerprint ssh-keygen -lf prints', (type, bits, sshType, keyType, expectBits) => {
    const file = makeKey(d, `${type}-${bits ?? 'default'}`, type, { bits, comment: 'alice@laptop' });
    const text = pub(file);
    const r = parsePublicKey(text);
    if (!r.ok) throw new Error(r.message);
    const keygen = keygenFingerprint(`${file}.pub`);
    expect(r.key).toEqual({ keyType, sshType, bits: expectBits, line: text.trim(), comment: 'alice@laptop', fingerprint: keygen.fingerprint });
    expect(keygen.bits).toBe(expectBits);
    // The normalised line is a key file ssh-keygen reads as the same key.
    fs.writeFileSync(d.file(`${type}-${bits}-normalised.pub`), `${r.key.line}\n`);
    expect(keygenFingerprint(d.file(`${type}-${bits}-normalised.pub`)).fingerprint).toBe(keygen.fingerprint);
  });

  it('refuses a 1024-bit RSA key, saying how many bits it has and how to make a better one', () => {
    const file = makeKey(d, 'rsa-1024', 'rsa', { bits: 1024 });
    expect(refusal(pub(file))).toBe(
      'RSA keys need at least 2048 bits; this one has 1024. Make a new key with ssh-keygen -t ed25519 (or ssh-keygen -t rsa -b 3072) and paste its .pub file.',
    );
  });

  it('refuses DSA', () => {
    let line = 'ssh-dss AAAAB3NzaC1kc3MAAACBAOSz1Xw2ELAa4C+Ur7OGxPjSwZpWwOrqUiDXJnn3bFzXJ3dfa1Y3pLvK7d5oXv9bFZuK alice@old';
    try {
      line = pub(makeKey(d, 'dsa', 'dsa'));
    } catch {
      // This ssh-keygen was built without DSA: the fixed line above is refused by its type alone.
    }
    expect(refusal(line)).toBe(
      'DSA keys (ssh-dss) are not accepted: OpenSSH no longer trusts them. Make an ed25519 key with ssh-keygen -t ed25519 and paste its .pub file.',
    );
  });

  it('refuses private keys in every format ssh-keygen writes, with the private-key sentence', () => {
    const openssh = fs.readFileSync(makeKey(d, 'priv-openssh', 'ed25519'), 'utf8');
    const pem = fs.readFileSync(makeKey(d, 'priv-pem', 'rsa', { bits: 2048, format: 'PEM' }), 'utf8');
    const pkcs8 = fs.readFileSync(makeKey(d, 'priv-pkcs8', 'ecdsa', { bits: 256, format: 'PKCS8' }), 'utf8');
    expect(openssh).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    expect(pem).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(pkcs8).toContain('-----BEGIN PRIVATE KEY-----');
    for (const text of [openssh, pem, pkcs8]) expect(refusal(text)).toBe(PRIVATE_KEY_SENTENCE);
    // …also without its armour lines, or with a public key pasted before it.
    expect(refusal(openssh.split('\n').slice(1, -2).join(''))).toBe(PRIVATE_KEY_SENTENCE);
    expect(refusal(`${pub(d.file('priv-openssh'))}${openssh}`)).toBe(PRIVATE_KEY_SENTENCE);
    expect(refusal('PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n')).toBe(PRIVATE_KEY_SENTENCE);
  });

  it('refuses PEM and SSH2 public keys with the command that converts them', () => {
    const file = makeKey(d, 'export', 'rsa', { bits: 2048 });
    const pem = sshKeygen(['-e', '-m', 'PKCS8', '-f', `${file}.pub`]);
    const ssh2 = sshKeygen(['-e', '-f', `${file}.pub`]);
    expect(pem).toContain('-----BEGIN PUBLIC KEY-----');
    expect(ssh2).toContain('---- BEGIN SSH2 PUBLIC KEY ----');
    expect(refusal(pem)).toMatch(/^That is a PEM public key; .*ssh-keygen -i -m PKCS8 -f key\.pem.*ssh-keygen -y -f <private key file>\.$/);
    expect(refusal(ssh2)).toMatch(/^That is an SSH2 \(RFC 4716\) public key; .*ssh-keygen -i -f key\.pub.*ssh-keygen -y -f <private key file>\.$/);
  });
});

describe('parsePublicKey refusals and normalisation', () => {
  let ed: string;
  let p384: string;
  beforeAll(() => {
    ed = pub(makeKey(d, 'base', 'ed25519')).trim();
    p384 = pub(makeKey(d, 'base384', 'ecdsa', { bits: 384 })).trim();
  });
  const data = (line: string) => line.split(' ')[1]!;

  it('refuses garbage and empty input', () => {
    expect(refusal('')).toBe('Paste a public key: the one line of its .pub file.');
    expect(refusal('  \n ')).toBe('Paste a public key: the one line of its .pub file.');
    expect(refusal('hello world')).toBe('“hello” is not a key type Cirrus knows. Cirrus accepts ed25519, ECDSA (nistp256, nistp384, nistp521) and RSA (2048 bits or more) keys.');
    expect(refusal('ssh-ed25519')).toBe('The key data is missing after “ssh-ed25519”; paste the whole line.');
    expect(refusal('ssh-ed25519 not*base64!')).toMatch(/^The key data is not valid base64; /);
    expect(refusal(data(ed))).toBe('The key type is missing: a public key line starts with its type, like “ssh-ed25519 AAAA…”.');
    expect(refusal('x'.repeat(20_000))).toMatch(/^That is too long for a public key \(at most 16,384 characters\)/);
  });

  it('refuses truncated base64: cut mid-quad, and cut at a quad', () => {
    const b = data(ed);
    expect(refusal(`ssh-ed25519 ${b.slice(0, -3)}`)).toMatch(/^The key data is not valid base64; it was probably changed or cut when copied/);
    expect(refusal(`ssh-ed25519 ${b.slice(0, -8)}`)).toMatch(/^The key data ends too early; it was probably changed or cut when copied/);
    // Base64 with stray bits in its padding is not what any tool writes.
    expect(refusal(`ssh-ed25519 ${b.slice(0, -2)}B=`)).toMatch(/^The key data is not valid base64/);
  });

  it('refuses a type that does not match the data, and a curve that does not match the type', () => {
    expect(refusal(`ssh-rsa ${data(ed)}`)).toBe('The line says ssh-rsa but the key data inside is ssh-ed25519; it was edited or two keys were joined.');
    expect(refusal(`ecdsa-sha2-nistp256 ${data(p384)}`)).toBe(
      'The line says ecdsa-sha2-nistp256 but the key data inside is ecdsa-sha2-nistp384; it was edited or two keys were joined.',
    );
    const [, , point] = fieldsOf(p384);
    expect(refusal(crafted('ecdsa-sha2-nistp256', wireString('nistp384'), wireString(point!)))).toBe(
      'The line says ecdsa-sha2-nistp256 but the key inside names the curve “nistp384”; it was edited or two keys were joined.',
    );
    expect(refusal(`ssh-ed25519 ${Buffer.from('just some bytes, long enough').toString('base64')}`)).toMatch(/^The key data ends too early/);
  });

  it('checks sizes and that the numbers are a real key', () => {
    const [, key] = fieldsOf(ed);
    expect(refusal(crafted('ssh-ed25519', wireString(key!.subarray(1))))).toMatch(/^An ed25519 key is 32 bytes; this one is 31/);
    expect(refusal(crafted('ssh-ed25519', wireString(key!), Buffer.from([0, 0])))).toBe('The key data has 2 bytes after the key; it was edited or two keys were joined.');
    const [, , point] = fieldsOf(p384);
    const offCurve = Buffer.from(point!);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(refusal(crafted('ecdsa-sha2-nistp384', wireString('nistp384'), wireString(offCurve)))).toMatch(/^That ECDSA key is not a point on the nistp384 curve/);
    const compressed = Buffer.concat([Buffer.from([0x02]), point!.subarray(1, 49)]);
    expect(refusal(crafted('ecdsa-sha2-nistp384', wireString('nistp384'), wireString(compressed)))).toMatch(/^The ECDSA point is not in the uncompressed form/);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const n = Buffer.concat([Buffer.from([0]), Buffer.from(rsa.n!, 'base64url')]);
    const rsaLine = (e: Buffer, mod = n) => crafted('ssh-rsa', wireString(e), wireString(mod));
    expect(parsePublicKey(rsaLine(Buffer.from([1, 0, 1])))).toMatchObject({ ok: true, key: { keyType: 'rsa', bits: 2048 } });
    expect(refusal(rsaLine(Buffer.from([2])))).toMatch(/^The RSA public exponent is not a valid one/);
    expect(refusal(rsaLine(Buffer.from([1])))).toMatch(/^The RSA public exponent is not a valid one/);
    expect(refusal(rsaLine(Buffer.from([0x81])))).toMatch(/^The RSA exponent is not a positive number/);
    expect(refusal(rsaLine(Buffer.alloc(9, 0x7f)))).toMatch(/^The RSA public exponent is not a valid one/);
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    expect(refusal(rsaLine(Buffer.from([1, 0, 1]), even))).toMatch(/^That RSA key is not valid/);
  });

  it('refuses two keys on two lines, several lines, options, certificates and security keys', () => {
    expect(refusal(`${ed}\n${p384}\n`)).toBe('That is 2 keys on 2 lines; import one public key at a time.');
    expect(refusal(`${ed.split(' ').slice(0, 2).join(' ')}\nalice@laptop`)).toBe('A public key is one line; this has 2. Paste the single line of the .pub file.');
    const optionsSentence =
      'Remove the options before the key type (such as from=, command= or no-pty): paste the bare key, starting with ssh-ed25519, ecdsa-sha2-… or ssh-rsa.';
    expect(refusal(`no-pty,from="10.0.0.0/8" ${ed}`)).toBe(optionsSentence);
    expect(refusal(`command="echo hello world" ${ed}`)).toBe(optionsSentence);
    expect(refusal(`ssh-ed25519-cert-v01@openssh.com ${data(ed)} alice`)).toMatch(/^That is an SSH certificate/);
    expect(refusal(`sk-ssh-ed25519@openssh.com ${data(ed)}`)).toMatch(/^Security-key types \(sk-ssh-ed25519@openssh\.com\) are not accepted\./);
  });

  it('normalises: surrounding whitespace and CRLF go, the comment is printable ASCII of at most 100 characters or none', () => {
    const [type, b] = ed.split(' ');
    const ok = (text: string) => {
      const r = parsePublicKey(text);
      if (!r.ok) throw new Error(r.message);
      return r.key;
    };
    expect(ok(`  ${type}\t${b}  \r\n`)).toMatchObject({ line: `${type} ${b}`, comment: null });
    expect(ok(`${type} ${b} bob@host   with\tspaces`).line).toBe(`${type} ${b} bob@host with spaces`);
    expect(ok(`${type} ${b} zoë\u0007@host\u200b`).comment).toBe('zo @host');
    const long = ok(`${type} ${b} ${'c'.repeat(150)}`);
    expect(long.comment).toBe('c'.repeat(100));
    expect(ok(`${type} ${b} \u00e9\u00e9`).comment).toBeNull();
    // The comment does not change the fingerprint.
    expect(ok(`${type} ${b}`).fingerprint).toBe(ok(ed).fingerprint);
  });
});
