// The tRPC client the commands use, and the look-ups most of them share:
// which tenant, which instance. Only types come from the server (`import
// type`): nothing of it runs in the CLI.
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter, RouterOutputs } from '../server/trpc/root';
import { INSTANCE_ID } from './args';
import { CliError, EXIT, UnreachableError, usageError } from './exit-codes';

export type Api = ReturnType<typeof createApi>;
export type Instance = RouterOutputs['instances']['get'];
export type Tenant = RouterOutputs['tenants']['list'][number];

const REQUEST_TIMEOUT_MS = 30_000;

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
};

/** "connection refused", "no such host", … from what fetch threw. */
export function unreachableReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code && reasons[cause.code]) return reasons[cause.code]!;
  return cause?.message || (err instanceof Error ? err.message : String(err));
}

type FetchInit = RequestInit & { signal?: AbortSignal | null };

/**
 * fetch, but a server that cannot be reached (or is not Cirrus: no JSON
 * answer) becomes an UnreachableError naming the URL. A kept-alive
 * connection the server closed just as it was reused is tried once more:
 * the server read nothing of that request.
 */
function cirrusFetch(base: string) {
  return async (input: RequestInfo | URL | string, init?: FetchInit): Promise<Response> => {
    const send = () => {
      const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
    };
    let res: Response;
    try {
      res = await send().catch((err: { cause?: { code?: string } }) => {
        if (err.cause?.code === 'UND_ERR_SOCKET') return send();
        throw err;
      });
    } catch (err) {
      throw new UnreachableError(`Cannot reach the Cirrus server at ${base}: ${unreachableReason(err)}.`);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('json')) {
      throw new UnreachableError(`${base} did not answer as a Cirrus server (HTTP ${res.status}${type ? `, ${type.split(';')[0]}` : ''}); check the URL.`);
    }
    return res;
  };
}

export function createApi(url: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/api/trpc`,
        transformer: superjson,
        headers: { authorization: `Bearer ${token}`, 'user-agent': 'cirrus-cli' },
        fetch: cirrusFetch(url),
      }),
    ],
  });
}

/**
 * The tenant a command acts in: the one asked for (slug or id), else the one
 * saved at login, else the only one the user has.
 */
export function pickTenant(tenants: readonly Tenant[], wanted: string | null): Tenant {
  if (wanted) {
    const t = tenants.find((x) => x.slug === wanted || x.id === wanted);
    if (t) return t;
    const yours = tenants.map((x) => x.slug).join(', ');
    throw new CliError(`You are not in a tenant “${wanted}”${yours ? `; yours: ${yours}` : ''}.`, EXIT.notFound);
  }
  if (tenants.length === 1) return tenants[0]!;
  if (tenants.length === 0) throw new CliError('You are not a member of any tenant yet: create one in the console first.', EXIT.notFound);
  throw usageError(`You are in ${tenants.length} tenants (${tenants.map((x) => x.slug).join(', ')}): choose one with --tenant <slug> (or \`cirrus login --tenant <slug>\`).`);
}

/** Every page of a keyset-paged list. */
export async function allPages<T>(page: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const p = await page(cursor);
    out.push(...p.items);
    cursor = p.nextCursor;
  } while (cursor);
  return out;
}

/**
 * An instance id, or the name of exactly one live instance (so a script can
 * name what it launched). Anything else is not found (4) or ambiguous (2).
 */
export async function resolveInstanceId(api: Api, tenantId: string, ref: string): Promise<string> {
  if (INSTANCE_ID.test(ref)) return ref;
  const named = (await allPages((cursor) => api.instances.list.query({ tenantId, cursor, limit: 100, name: ref.slice(0, 63) }))).filter((i) => i.name === ref);
  if (named.length === 1) return named[0]!.id;
  if (named.length === 0) throw new CliError(`No instance is named “${ref}”, and it is not an instance id (i- and 17 hex digits).`, EXIT.notFound);
  throw usageError(`${named.length} instances are named “${ref}” (${named.map((i) => i.id).join(', ')}): give an id.`);
}
