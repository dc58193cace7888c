// EC2 Query API latency: the route times the whole request and labels it with
// the action asked for (bounded to the actions Cirrus knows) and the status.
import { actions } from '../ec2/handler';
import { processMetrics } from './registry';

const MAX_BODY = 1024 * 1024;
const known = new Set(Object.keys(actions));

/** The Action a request names (query string, else its form body), or "other" when it is not one we know. */
async function actionOf(req: Request): Promise<string> {
  let action = new URL(req.url).searchParams.get('Action');
  const declared = Number(req.headers.get('content-length') ?? NaN);
  // The copy's body is read only when the handler read the original too (not one declared over 1 MiB).
  if (!action && req.method === 'POST' && !(declared > MAX_BODY) && /^application\/x-www-form-urlencoded\b/i.test(req.headers.get('content-type') ?? '')) {
    action = new URLSearchParams(await req.text().catch(() => '')).get('Action');
  } else {
    await req.body?.cancel().catch(() => undefined);
  }
  return action && known.has(action) ? action : 'other';
}

/** Run `handle` on the request, observing its duration by action and status code. */
export async function timedEc2Request(req: Request, handle: (req: Request) => Promise<Response>): Promise<Response> {
  const started = performance.now();
  const copy = req.method === 'POST' ? req.clone() : req;
  const res = await handle(req);
  const seconds = (performance.now() - started) / 1000;
  processMetrics().ec2RequestDuration.observe({ action: await actionOf(copy), code: String(res.status) }, seconds);
  return res;
}
