// A readable page of the REST API, rendered on the server from the same
// OpenAPI document /api/openapi.json serves.
import type { openApiDocument } from '@/server/openapi/document';

type Doc = ReturnType<typeof openApiDocument>;
type Schema = { type?: string | string[]; enum?: unknown[]; format?: string; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; default?: unknown; items?: Schema; properties?: Record<string, Schema>; required?: string[]; anyOf?: Schema[] };
type Param = { name: string; required: boolean; schema?: Schema; content?: { 'application/json': { schema: Schema } } };
type Op = { operationId: string; tags: string[]; parameters?: Param[]; requestBody?: { content: { 'application/json': { schema: Schema } } } };

/** One line saying what a value may be: its type, choices and bounds. */
function describe(s: Schema | undefined): string {
  if (!s) return 'any';
  if (s.anyOf) return s.anyOf.map(describe).join(' or ');
  const types = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  const parts = [s.type === 'array' ? `array of ${describe(s.items)}` : types];
  if (s.enum) parts.push(`one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (s.format) parts.push(s.format);
  if (s.minimum !== undefined || s.maximum !== undefined) parts.push(`${s.minimum ?? '…'}–${s.maximum ?? '…'}`);
  if (s.minLength !== undefined || s.maxLength !== undefined) parts.push(`${s.minLength ?? 0}–${s.maxLength ?? '…'} characters`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(', ');
}

function Fields({ rows }: { rows: { name: string; required: boolean; schema?: Schema; where?: string }[] }) {
  if (rows.length === 0) return <p className="text-sm text-slate-600">No input.</p>;
  return (
    <table className="w-full text-left text-sm">
      <thead>
        <tr className="border-b border-slate-200 text-slate-600">
          <th scope="col" className="py-1 pr-4 font-medium">Field</th>
          <th scope="col" className="py-1 pr-4 font-medium">Required</th>
          <th scope="col" className="py-1 font-medium">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name} className="border-b border-slate-100 align-top">
            <td className="py-1 pr-4 font-mono">{r.name}</td>
            <td className="py-1 pr-4">{r.required ? 'yes' : 'no'}</td>
            <td className="py-1">
              {describe(r.schema)}
              {r.where ? <span className="text-slate-500"> ({r.where})</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ApiReference({ doc }: { doc: Doc }) {
  const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item as Record<string, Op>).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
  const tags = [...new Set(ops.map((o) => o.op.tags[0]!))];
  const base = doc.servers[0]!.url;
  return (
    <div className="mx-auto max-w-5xl px-6 py-10">
      <header className="mb-8">
        <h1 className="text-2xl font-semibold">{doc.info.title}</h1>
        <p className="mt-2 max-w-3xl text-slate-700">{doc.info.description}</p>
        <p className="mt-2 text-sm">
          The machine-readable document: <a className="text-sky-700 underline" href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1). The EC2-compatible API for the AWS CLI and SDKs is at <code>/api/ec2</code>.
        </p>
        <pre className="mt-4 overflow-x-auto rounded bg-slate-900 p-3 text-sm text-slate-100">
          {`curl -H "Authorization: Bearer $CIRRUS_TOKEN" "${base}/api/v1/tenants/list"`}
        </pre>
      </header>
      <nav aria-label="API sections" className="mb-8">
        <h2 className="mb-2 font-semibold">Sections</h2>
        <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
          {tags.map((tag) => (
            <li key={tag}>
              <a className="text-sky-700 underline" href={`#tag-${tag}`}>
                {tag}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {tags.map((tag) => (
        <section key={tag} aria-labelledby={`tag-${tag}`} className="mb-10">
          <h2 id={`tag-${tag}`} className="mb-4 border-b border-slate-300 pb-1 text-xl font-semibold">
            {tag}
          </h2>
          {ops
            .filter((o) => o.op.tags[0] === tag)
            .map(({ path, method, op }) => {
              const body = op.requestBody?.content['application/json'].schema;
              const rows =
                method === 'GET'
                  ? (op.parameters ?? []).map((p) => ({ name: p.name, required: p.required, schema: p.schema ?? p.content?.['application/json'].schema, where: p.content ? 'JSON in the query' : 'query' }))
                  : Object.entries(body?.properties ?? {}).map(([name, schema]) => ({ name, required: body?.required?.includes(name) ?? false, schema }));
              return (
                <article key={op.operationId} id={op.operationId} aria-labelledby={`${op.operationId}-title`} className="mb-6 rounded border border-slate-200 p-4">
                  <h3 id={`${op.operationId}-title`} className="font-mono text-sm">
                    <span className={`mr-2 rounded px-1.5 py-0.5 text-xs font-semibold ${method === 'GET' ? 'bg-emerald-100 text-emerald-900' : 'bg-sky-100 text-sky-900'}`}>{method}</span>
                    {path}
                  </h3>
                  <p className="mb-2 mt-1 text-sm text-slate-600">tRPC: {op.operationId}</p>
                  <Fields rows={rows} />
                </article>
              );
            })}
        </section>
      ))}
    </div>
  );
}
