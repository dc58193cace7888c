// The OpenAPI 3.1 document of Cirrus's API, generated from the tRPC router:
// every query is a GET and every mutation a POST under /api/v1, its input
// described by the procedure's own zod schemas (zod's JSON Schema output,
// which OpenAPI 3.1 takes as it is). Nothing is written twice: a procedure
// added to the router is in the document and the REST API at once.
import { z } from 'zod';
import { appRouter } from '../trpc/root';

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; [k: string]: unknown };
type Procedure = { _def: { type: 'query' | 'mutation' | 'subscription'; inputs: z.ZodType[]; meta?: { minRole?: string } } };

export type Operation = {
  /** The tRPC path, e.g. `instances.launch`. */
  procedure: string;
  method: 'GET' | 'POST';
  path: string;
  /** The merged input schema (an object), or null when the procedure takes none. */
  input: JsonSchema | null;
};

export const REST_PREFIX = '/api/v1';

const toSchema = (parser: z.ZodType): JsonSchema => {
  const { $schema: _drop, ...schema } = z.toJSONSchema(parser, { io: 'input', unrepresentable: 'any' }) as JsonSchema & { $schema?: string };
  return schema;
};

/** A procedure's inputs are objects chained with `.input()`: one object of all their fields. */
function mergedInput(inputs: z.ZodType[]): JsonSchema | null {
  if (inputs.length === 0) return null;
  const schemas = inputs.map(toSchema);
  if (schemas.length === 1) return schemas[0]!;
  return {
    type: 'object',
    properties: Object.assign({}, ...schemas.map((s) => s.properties ?? {})),
    required: [...new Set(schemas.flatMap((s) => s.required ?? []))],
  };
}

let cached: Operation[] | null = null;

/** Every query and mutation of the router, in path order. */
export function operations(): Operation[] {
  if (cached) return cached;
  const procedures = appRouter._def.procedures as unknown as Record<string, Procedure>;
  cached = Object.keys(procedures)
    .sort()
    .flatMap((procedure) => {
      const def = procedures[procedure]!._def;
      if (def.type === 'subscription') return [];
      return [{ procedure, method: def.type === 'query' ? ('GET' as const) : ('POST' as const), path: `${REST_PREFIX}/${procedure.replaceAll('.', '/')}`, input: mergedInput(def.inputs) }];
    });
  return cached;
}

const isScalar = (s: JsonSchema) => {
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return types.length > 0 && types.every((t) => ['string', 'integer', 'number', 'boolean', 'null'].includes(t));
};

/** A GET's input goes in the query: scalar fields as they are, others as JSON (OpenAPI's `content` parameters). */
function queryParameters(input: JsonSchema | null) {
  if (!input?.properties) return [];
  return Object.entries(input.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: input.required?.includes(name) ?? false,
    ...(isScalar(schema) ? { schema } : { content: { 'application/json': { schema } } }),
  }));
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

export function openApiDocument(serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations()) {
    const [tag] = op.procedure.split('.');
    const publicOne = op.procedure.startsWith('auth.');
    paths[op.path] = {
      [op.method.toLowerCase()]: {
        operationId: op.procedure,
        tags: [tag],
        summary: `${op.method === 'GET' ? 'Query' : 'Mutation'} ${op.procedure}`,
        ...(publicOne ? { security: [] } : {}),
        ...(op.method === 'GET'
          ? { parameters: queryParameters(op.input) }
          : op.input
            ? { requestBody: { required: !!op.input.required?.length, content: { 'application/json': { schema: op.input } } } }
            : {}),
        responses: {
          '200': { description: 'What the procedure returns, as JSON (timestamps as ISO 8601 strings, 64-bit integers as strings).', content: { 'application/json': { schema: {} } } },
          '400': errorResponse('The input is not valid: `fieldErrors` says which field and why.'),
          '401': errorResponse('No valid API token (send `Authorization: Bearer cirrus_…`).'),
          '403': errorResponse('Not allowed: the role, a quota, the budget or a suspension refuses it.'),
          '404': errorResponse('Not found (or not yours: other tenants’ things are not found either).'),
          '409': errorResponse('It is in a state that refuses this now, or it conflicts with what exists.'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cirrus API',
      version: '1',
      description:
        'Every procedure of the console’s tRPC API as plain HTTP + JSON. Queries are GETs (scalar inputs as query parameters, others as JSON), mutations POSTs with a JSON body. Authenticate with an API token from Settings → API tokens. Tenant procedures take the tenant’s id as `tenantId`.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token: `cirrus_…`' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'reason', 'message'],
              properties: {
                code: { type: 'string', description: 'The transport code: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, …' },
                reason: { type: 'string', description: 'The domain reason: QUOTA_EXCEEDED, INVALID_STATE, …' },
                message: { type: 'string', description: 'A sentence for a person.' },
                fieldErrors: { type: ['object', 'null'], additionalProperties: { type: 'array', items: { type: 'string' } } },
                requestId: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
    },
  };
}
