// The REST face of the tRPC API (see ./document.ts): /api/v1/<router>/<procedure>
// runs the procedure through tRPC's own caller, so authorization, validation,
// audit and errors are exactly those of the console's calls.
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPCError } from '@trpc/server';
import { readCapped } from '../http/body';
import { createContext } from '../trpc/context';
import { formatError } from '../trpc/errors';
import { createCallerFactory } from '../trpc/init';
import { appRouter } from '../trpc/root';
import { operations, REST_PREFIX, type Operation } from './document';

const MAX_BODY = 1024 * 1024;
const createCaller = createCallerFactory(appRouter);

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });

const refuse = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  json(status, { error: { code, reason: code, message, fieldErrors: null, requestId: null } }, headers);

/** A query parameter as its schema types it: numbers, booleans and JSON for the rest. */
function fromQuery(op: Operation, params: URLSearchParams): Record<string, unknown> | string {
  const props = op.input?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, raw] of params) {
    const schema = props[name];
    if (!schema) return `Unknown parameter "${name.slice(0, 60)}" for ${op.procedure}.`;
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (types.includes('integer') || types.includes('number')) {
      const n = Number(raw);
      out[name] = raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    } else if (types.includes('boolean')) out[name] = raw === 'true' ? true : raw === 'false' ? false : raw;
    else if (types.length && types.every((t) => t === 'string' || t === 'null')) out[name] = raw;
    else {
      try {
        out[name] = JSON.parse(raw);
      } catch {
        return `Parameter "${name}" must be JSON.`;
      }
    }
  }
  return out;
}

export async function handleRest(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const matching = operations().filter((o) => o.path === url.pathname.replace(/\/+$/, ''));
  if (matching.length === 0) return refuse(404, 'NOT_FOUND', `There is no ${url.pathname.slice(0, 120)}: the operations are listed in ${REST_PREFIX.replace('/v1', '')}/openapi.json.`);
  const op = matching.find((o) => o.method === req.method);
  if (!op) return refuse(405, 'METHOD_NOT_SUPPORTED', `${matching[0]!.procedure} is a ${matching[0]!.method === 'GET' ? 'query: use GET' : 'mutation: use POST'}.`, { allow: matching[0]!.method });

  let input: unknown;
  if (op.method === 'GET') {
    const parsed = fromQuery(op, url.searchParams);
    if (typeof parsed === 'string') return refuse(400, 'BAD_REQUEST', parsed);
    input = op.input ? parsed : undefined;
  } else {
    const text = await readCapped(req, MAX_BODY);
    if (text === null) return refuse(413, 'PAYLOAD_TOO_LARGE', 'The body is larger than 1 MiB.');
    if (text.trim()) {
      if (!/^application\/json\b/i.test(req.headers.get('content-type') ?? '')) return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the input as JSON (Content-Type: application/json).');
      try {
        input = JSON.parse(text);
      } catch {
        return refuse(400, 'BAD_REQUEST', 'The body is not valid JSON.');
      }
    }
  }

  const ctx = await createContext(req);
  const caller = createCaller(ctx) as unknown as Record<string, unknown>;
  const fn = op.procedure.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (i: unknown) => Promise<unknown>;
  try {
    return json(200, await fn(input));
  } catch (err) {
    const e = err instanceof TRPCError ? err : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: err });
    const { message, data } = formatError(e, ctx.requestId);
    if (data.reason === 'INTERNAL') console.error(`[rest] request ${ctx.requestId} (${op.procedure}):`, e.cause ?? e);
    return json(getHTTPStatusCodeFromError(e), { error: { code: e.code, ...data, message } });
  }
}
