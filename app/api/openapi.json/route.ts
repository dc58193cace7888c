import { openApiDocument } from '@/server/openapi/document';
import { publicOrigin } from '@/server/openapi/origin';

export const dynamic = 'force-dynamic';

/** The OpenAPI 3.1 document of the REST API, generated from the tRPC router. */
export function GET(req: Request) {
  return Response.json(openApiDocument(publicOrigin(req)), { headers: { 'cache-control': 'no-store' } });
}
