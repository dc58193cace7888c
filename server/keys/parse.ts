// Reading an OpenSSH public key line ("ssh-ed25519 AAAA… comment") into what
// a key pair stores: its type and size, the normalised line and the SHA256
// fingerprint `ssh-keygen -l` prints.
//
// Why hand-written: the SSH wire format of a public key is three or four
// length-prefixed fields (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709), so reading
// it is a few dozen lines, while the libraries that do it bring much more
// than we need: sshpk (little maintained since 2023, its own crypto stack)
// or ssh2 (a whole SSH client, with a native optional dependency). The
// cryptographic check that matters, that the numbers are a real key (an
// ECDSA point on its curve, an RSA modulus and exponent OpenSSL takes), is
// node:crypto's: each key is imported as a JWK.
//
// 1. Text → fields · 2. the wire format · 3. each key type · 4. the result.
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { SSH_KEY_TYPES, whyNotPublicKeyText, type KeyType, type SshKeyType } from './line';

export type PublicKey = {
  keyType: KeyType;
  /** The OpenSSH type name, e.g. "ecdsa-sha2-nistp384". */
  sshType: SshKeyType;
  bits: number;
  /** `<type> <base64>` and the sanitised comment, if any: what a key pair stores and a guest's authorized_keys gets. */
  line: string;
  comment: string | null;
  /** `SHA256:<unpadded base64>`, exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
};

export type ParseResult = { ok: true; key: PublicKey } | { ok: false; message: string };

const COMMENT_MAX = 100;
export const RSA_MIN_BITS = 2048;
/** OpenSSH's own limit (SSH_RSA_MAXIMUM_MODULUS_SIZE). */
export const RSA_MAX_BITS = 16_384;

const EDITED = 'it was probably changed or cut when copied. Paste the whole line of the .pub file again.';

class KeyDataError extends Error {}
const refuse = (message: string): never => {
  throw new KeyDataError(message);
};

// ---------------------------------------------------------------- 1. text → fields

/** Printable ASCII, single-spaced, at most 100 characters; null when nothing is left. */
export function sanitiseComment(text: string): string | null {
  const clean = text
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/ +/g, ' ')
    .trim()
    .slice(0, COMMENT_MAX)
    .trim();
  return clean === '' ? null : clean;
}

/** Strict base64: the alphabet, whole quads, and no stray bits in the padding. */
function decodeBase64(text: string): Buffer {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) refuse(`The key data is not valid base64; ${EDITED}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) refuse(`The key data is not valid base64; ${EDITED}`);
  return bytes;
}

// ---------------------------------------------------------------- 2. the wire format

/** Length-prefixed fields, read in order; running out means the data was cut. */
class WireReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer {
    if (this.at + 4 > this.buf.length) refuse(`The key data ends too early; ${EDITED}`);
    const length = this.buf.readUInt32BE(this.at);
    if (this.at + 4 + length > this.buf.length) refuse(`The key data ends too early; ${EDITED}`);
    const out = this.buf.subarray(this.at + 4, this.at + 4 + length);
    this.at += 4 + length;
    return out;
  }

  /** An SSH mpint (two's complement, big-endian) that must be positive, without leading zero bytes. */
  positiveMpint(what: string): Buffer {
    const raw = this.string();
    if (raw.length === 0 || (raw[0]! & 0x80) !== 0) refuse(`The RSA ${what} is not a positive number; ${EDITED}`);
    let start = 0;
    while (start < raw.length - 1 && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  end() {
    const left = this.buf.length - this.at;
    if (left > 0) refuse(`The key data has ${left} byte${left === 1 ? '' : 's'} after the key; it was edited or two keys were joined.`);
  }
}

const b64url = (b: Buffer) => b.toString('base64url');

/** node:crypto's verdict on a key as a JWK: does OpenSSL take these numbers as a key? */
function importable(jwk: JsonWebKey): boolean {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- 3. each key type

const CURVES = {
  nistp256: { jwk: 'P-256', bits: 256, coordinate: 32 },
  nistp384: { jwk: 'P-384', bits: 384, coordinate: 48 },
  nistp521: { jwk: 'P-521', bits: 521, coordinate: 66 },
} as const;

function readEd25519(r: WireReader): number {
  const key = r.string();
  if (key.length !== 32) refuse(`An ed25519 key is 32 bytes; this one is ${key.length}, so ${EDITED}`);
  r.end();
  if (!importable({ kty: 'OKP', crv: 'Ed25519', x: b64url(key) })) refuse(`That ed25519 key is not valid; ${EDITED}`);
  return 256;
}

function readEcdsa(r: WireReader, sshType: SshKeyType): number {
  const curveName = sshType.slice('ecdsa-sha2-'.length) as keyof typeof CURVES;
  const curve = CURVES[curveName];
  const inner = r.string().toString('latin1');
  if (inner !== curveName) refuse(`The line says ${sshType} but the key inside names the curve “${inner.replace(/[^\x20-\x7e]/g, '?').slice(0, 20)}”; it was edited or two keys were joined.`);
  const point = r.string();
  r.end();
  if (point[0] !== 0x04) refuse(`The ECDSA point is not in the uncompressed form OpenSSH writes; ${EDITED}`);
  if (point.length !== 1 + 2 * curve.coordinate) refuse(`A ${curveName} point is ${1 + 2 * curve.coordinate} bytes; this one is ${point.length}, so ${EDITED}`);
  const x = point.subarray(1, 1 + curve.coordinate);
  const y = point.subarray(1 + curve.coordinate);
  if (!importable({ kty: 'EC', crv: curve.jwk, x: b64url(x), y: b64url(y) })) {
    refuse(`That ECDSA key is not a point on the ${curveName} curve, so it is not a real key; ${EDITED}`);
  }
  return curve.bits;
}

const bitLength = (n: Buffer) => (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));

function readRsa(r: WireReader): number {
  const e = r.positiveMpint('exponent');
  const n = r.positiveMpint('modulus');
  r.end();
  // Odd, at least 3 and at most 64 bits: what OpenSSL accepts for a public exponent (65537 in practice).
  if (e.length > 8 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0]! < 3)) {
    refuse(`The RSA public exponent is not a valid one (it must be odd, at least 3, at most 64 bits); ${EDITED}`);
  }
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS) {
    refuse(`RSA keys need at least ${RSA_MIN_BITS} bits; this one has ${bits}. Make a new key with ssh-keygen -t ed25519 (or ssh-keygen -t rsa -b 3072) and paste its .pub file.`);
  }
  if (bits > RSA_MAX_BITS) refuse(`RSA keys have at most ${RSA_MAX_BITS.toLocaleString('en')} bits (OpenSSH’s own limit); this one has ${bits.toLocaleString('en')}.`);
  if ((n[n.length - 1]! & 1) === 0 || !importable({ kty: 'RSA', n: b64url(n), e: b64url(e) })) refuse(`That RSA key is not valid; ${EDITED}`);
  return bits;
}

// ---------------------------------------------------------------- 4. the result

/** `SHA256:` and the unpadded base64 of the SHA-256 of the key's wire blob, as ssh-keygen prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The SSH wire encoding of a string (uint32 length, then the bytes). */
export function wireString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * Parse one OpenSSH public key line. Refusals are sentences for the person
 * who pasted it (a private key, a PEM or SSH2 file, DSA, a short RSA key,
 * cut or edited data…).
 */
export function parsePublicKey(text: string): ParseResult {
  const why = whyNotPublicKeyText(text);
  if (why) return { ok: false, message: why };
  const [typeText, data = '', ...rest] = text.trim().split(/[ \t]+/);
  const sshType = typeText as SshKeyType; // whyNotPublicKeyText admitted only known types
  try {
    const blob = decodeBase64(data);
    const r = new WireReader(blob);
    const inner = r.string().toString('latin1');
    if (inner !== sshType) {
      const shown = /^[\x21-\x7e]{1,64}$/.test(inner) ? inner : 'not an SSH key at all';
      refuse(`The line says ${sshType} but the key data inside is ${shown}; it was edited or two keys were joined.`);
    }
    const bits = sshType === 'ssh-ed25519' ? readEd25519(r) : sshType === 'ssh-rsa' ? readRsa(r) : readEcdsa(r, sshType);
    const comment = sanitiseComment(rest.join(' '));
    return {
      ok: true,
      key: {
        keyType: SSH_KEY_TYPES[sshType],
        sshType,
        bits,
        line: comment ? `${sshType} ${data} ${comment}` : `${sshType} ${data}`,
        comment,
        fingerprint: fingerprintOf(blob),
      },
    };
  } catch (err) {
    if (err instanceof KeyDataError) return { ok: false, message: err.message };
    throw err;
  }
}
