import { z } from 'zod';
import { tenantAccess, textResponse } from '@/server/auth/route-access';
import { instanceScreenshot } from '@/server/console/screenshots';
import { getDb } from '@/server/db/client';
import { DomainError } from '@/server/errors';

export const dynamic = 'force-dynamic';

const query = z.object({ tenantId: z.uuid(), instanceId: z.string().regex(/^i-[0-9a-f]{17}$/) });

/** GET /api/instances/<id>/screenshot?tenantId=… → PNG of the running instance's screen, for members of its tenant. */
export async function GET(req: Request, { params }: { params: Promise<{ instanceId: string }> }) {
  const parsed = query.safeParse({ tenantId: new URL(req.url).searchParams.get('tenantId'), instanceId: (await params).instanceId });
  if (!parsed.success) return textResponse(400, 'Unknown tenant or instance.');
  const access = await tenantAccess(parsed.data.tenantId);
  if (!access.ok) return access.response;
  try {
    const png = await instanceScreenshot(getDb(), parsed.data.tenantId, parsed.data.instanceId);
    return new Response(new Uint8Array(png), { headers: { 'content-type': 'image/png', 'cache-control': 'private, max-age=3' } });
  } catch (err) {
    if (err instanceof DomainError) return textResponse(err.code === 'NOT_FOUND' ? 404 : 409, err.message);
    console.error('[screenshot]', err);
    return textResponse(502, 'The screen could not be read. Try again in a moment.');
  }
}
