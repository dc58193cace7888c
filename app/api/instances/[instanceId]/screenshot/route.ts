import { z } from 'zod';
import { getCurrentUser } from '@/server/auth/session';
import { instanceScreenshot } from '@/server/console/screenshots';
import { getDb } from '@/server/db/client';
import { DomainError } from '@/server/errors';
import { findMembership } from '@/server/tenants/tenants';

export const dynamic = 'force-dynamic';

const query = z.object({ tenantId: z.uuid(), instanceId: z.string().regex(/^i-[0-9a-f]{17}$/) });
const text = (status: number, message: string) =>
  new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });

/** GET /api/instances/<id>/screenshot?tenantId=… → PNG of the running instance's screen, for members of its tenant. */
export async function GET(req: Request, { params }: { params: Promise<{ instanceId: string }> }) {
  const parsed = query.safeParse({ tenantId: new URL(req.url).searchParams.get('tenantId'), instanceId: (await params).instanceId });
  if (!parsed.success) return text(400, 'Unknown tenant or instance.');
  const user = await getCurrentUser();
  if (!user) return text(401, 'Sign in to continue.');
  const db = getDb();
  if (!(await findMembership(db, user.id, { tenantId: parsed.data.tenantId }))) return text(404, 'Instance not found.');
  try {
    const png = await instanceScreenshot(db, parsed.data.tenantId, parsed.data.instanceId);
    return new Response(new Uint8Array(png), { headers: { 'content-type': 'image/png', 'cache-control': 'private, max-age=3' } });
  } catch (err) {
    if (err instanceof DomainError) return text(err.code === 'NOT_FOUND' ? 404 : 409, err.message);
    console.error('[screenshot]', err);
    return text(502, 'The screen could not be read. Try again in a moment.');
  }
}
