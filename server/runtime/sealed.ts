import crypto from 'node:crypto';
import { dataDir } from '../config/paths';
import { readOrCreateSecret } from './secrets';

/**
 * Secrets Cirrus must be able to read back (an access key's secret, which
 * Signature Version 4 needs to verify a request) are stored sealed:
 * AES-256-GCM under a key kept in `<data>/secrets/seal-key`, never in the
 * database. `context` is bound in as associated data, so a sealed value
 * copied onto another row does not open.
 */
let cached: Buffer | null = null;

function sealKey(): Buffer {
  if (cached) return cached;
  const encoded = readOrCreateSecret(dataDir(), 'seal-key', () => crypto.randomBytes(32).toString('base64url'));
  const key = Buffer.from(encoded, 'base64url');
  if (key.length !== 32) throw new Error('the seal key in the data dir secrets is not 32 bytes of base64url');
  cached = key;
  return key;
}

export function seal(plain: string, context: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', sealKey(), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The plain text, or null when it was sealed under another key or context, or was altered. */
export function unseal(sealed: string, context: string): string | null {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 28) return null;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', sealKey(), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
