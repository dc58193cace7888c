// AWS Signature Version 4, as the EC2 Query API receives it: the
// Authorization header is parsed here, and the signature the client should
// have made is computed by AWS's own signer (@smithy/signature-v4), given
// exactly the headers the client says it signed. Verifying is re-signing.
import crypto from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Ec2Error } from './errors';

export const SERVICE = 'ec2';
/** A signature is good for this long either side of the database clock, as AWS's are. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export type Authorization = {
  accessKeyId: string;
  /** The credential scope: `yyyymmdd/region/ec2/aws4_request`. */
  scopeDate: string;
  region: string;
  signedHeaders: string[];
  signature: string;
};

/** The request as it arrived, reduced to what a signature covers. */
export type ReceivedRequest = {
  method: string;
  /** The path as sent (still percent-encoded, as SigV4's canonical URI encodes it once more), without the query. */
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
};

const AUTH = /^AWS4-HMAC-SHA256\s+(.*)$/s;

export function parseAuthorization(header: string | null): Authorization {
  if (!header) throw new Ec2Error('AuthFailure', 'This request is not signed: sign it with AWS Signature Version 4 and an access key from Settings → Access keys.');
  const m = AUTH.exec(header.trim());
  if (!m?.[1]) throw new Ec2Error('IncompleteSignature', 'Only AWS4-HMAC-SHA256 signatures are accepted.');
  const parts = new Map<string, string>();
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credential = parts.get('Credential')?.split('/') ?? [];
  const signedHeaders = parts.get('SignedHeaders')?.split(';') ?? [];
  const signature = parts.get('Signature') ?? '';
  if (credential.length !== 5 || credential[4] !== 'aws4_request' || !/^\d{8}$/.test(credential[1] ?? '')) {
    throw new Ec2Error('IncompleteSignature', 'The Credential must be <access key id>/<yyyymmdd>/<region>/ec2/aws4_request.');
  }
  if (credential[3] !== SERVICE) throw new Ec2Error('AuthFailure', `The credential is scoped to the service "${credential[3]}"; this endpoint is "${SERVICE}".`);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new Ec2Error('IncompleteSignature', 'The Signature must be 64 hex digits.');
  if (!signedHeaders.includes('host') || !signedHeaders.every((h) => /^[a-z0-9-]+$/.test(h))) {
    throw new Ec2Error('SignatureDoesNotMatch', 'SignedHeaders must list the host header, and only lower-case header names.');
  }
  return { accessKeyId: credential[0]!, scopeDate: credential[1]!, region: credential[2]!, signedHeaders, signature };
}

/** `20261203T120000Z` → its instant, or null. */
export function parseAmzDate(value: string | null): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return null;
  const at = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * The request's signing time, checked against `now` (the database clock):
 * missing, unreadable, or more than 15 minutes off is refused.
 */
export function signingTime(req: ReceivedRequest, auth: Authorization, now: Date): Date {
  const raw = req.headers.get('x-amz-date');
  const at = parseAmzDate(raw);
  if (!at || !auth.signedHeaders.includes('x-amz-date')) {
    throw new Ec2Error('AuthFailure', 'Sign the X-Amz-Date header (yyyymmddThhmmssZ) with the request.');
  }
  if (raw!.slice(0, 8) !== auth.scopeDate) throw new Ec2Error('SignatureDoesNotMatch', 'The credential scope date is not the date of X-Amz-Date.');
  const skew = at.getTime() - now.getTime();
  if (Math.abs(skew) > MAX_SKEW_MS) {
    throw new Ec2Error(
      'RequestExpired',
      `Request has expired: it was signed at ${at.toISOString()} and the server's time is ${now.toISOString()}; a signature is valid for 15 minutes either side.`,
    );
  }
  return at;
}

const sha256Hex = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

/** Whether `auth.signature` is what `secret` makes of this request at `at`. */
export async function signatureMatches(req: ReceivedRequest, auth: Authorization, secret: string, at: Date): Promise<boolean> {
  const declared = req.headers.get('x-amz-content-sha256');
  // A declared body hash stands in for the body in the signature: it must be the body's.
  if (declared !== null && declared !== sha256Hex(req.body)) return false;
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) headers[name] = req.headers.get(name) ?? '';
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.query) {
    const had = query[k];
    query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  const host = headers.host ?? '';
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: secret },
    region: auth.region,
    service: SERVICE,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({ method: req.method, protocol: 'https:', hostname: host, path: req.path, query, headers, body: req.body }),
    { signingDate: at, signableHeaders: new Set(auth.signedHeaders), signingRegion: auth.region, signingService: SERVICE },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization ?? ''))?.[1];
  if (!expected) return false;
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature));
}
