// GET /metrics: the Prometheus text format, for a scraper holding the scrape
// token or for a platform admin's API token. 1. Who may scrape · 2. The answer.
import crypto from 'node:crypto';
import { Registry } from 'prom-client';
import { dataDir } from '../config/paths';
import { getDb, type Db } from '../db/client';
import { readOrCreateSecret } from '../runtime/secrets';
import { authenticateToken } from '../tokens';
import { scrapeRegistry } from './collect';
import { processMetrics } from './registry';

const text = (status: number, message: string, headers: Record<string, string> = {}) =>
  new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });

// ---------------------------------------------------------------- 1. who may scrape
/**
 * The scrape token: made on first use in `<data dir>/secrets/metrics-token`,
 * the file Prometheus reads (`authorization: { credentials_file: … }`). Read
 * on every scrape, so deleting the file rotates it without a restart.
 */
export const scrapeToken = (dir = dataDir()) => readOrCreateSecret(dir, 'metrics-token', () => `cirrus_metrics_${crypto.randomBytes(32).toString('base64url')}`);

/** Equal, in time that does not depend on where they differ (both hashed to the same length first). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(a), digest(b));
}

/** null when the request may read the metrics, else the refusal. */
async function refusal(req: Request, db: Db): Promise<Response | null> {
  // Made before anything is asked, so a first request without a token leaves the file for Prometheus to read.
  // An unreadable data dir leaves admins' tokens working.
  let expected: string | null = null;
  try {
    expected = scrapeToken();
  } catch (err) {
    console.error('[metrics] the scrape token could not be read or made:', err instanceof Error ? err.message : err);
  }
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization')?.trim() ?? '');
  const token = match?.[1];
  const unauthorized = (why: string) => text(401, why, { 'www-authenticate': 'Bearer realm="cirrus-metrics"' });
  if (!token) return unauthorized('Send Authorization: Bearer <token>: the scrape token (secrets/metrics-token in the data directory) or an administrator’s API token.');
  if (expected !== null && sameSecret(token, expected)) return null;
  const user = await authenticateToken(db, token);
  if (!user) return unauthorized('That token is not the scrape token, nor an active API token.');
  if (!user.isAdmin) return text(403, 'Only platform administrators (or the scrape token) may read the metrics.');
  return null;
}

// ---------------------------------------------------------------- 2. the answer
/** The /metrics route: what this process counted and what the database holds now. */
export async function handleMetrics(req: Request, db: Db = getDb()): Promise<Response> {
  const refused = await refusal(req, db);
  if (refused) return refused;
  try {
    const registry = Registry.merge([processMetrics().registry, scrapeRegistry(db)]);
    return new Response(await registry.metrics(), { status: 200, headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' } });
  } catch (err) {
    console.error('[metrics] scrape failed:', err);
    return text(500, 'The metrics could not be gathered; see the server log.');
  }
}
