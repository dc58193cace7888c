import { handleRest } from '@/server/openapi/rest';

export const dynamic = 'force-dynamic';

/** The REST API (server/openapi): every tRPC procedure at /api/v1/<router>/<procedure>. */
const handler = (req: Request) => handleRest(req);

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE };
