import { z } from 'zod';
import { tenantAccess, textResponse } from '@/server/auth/route-access';
import { invoiceCsv } from '@/server/billing/csv';
import { invoice, monthSchema } from '@/server/billing/summary';
import { getDb } from '@/server/db/client';
import { DomainError } from '@/server/errors';

export const dynamic = 'force-dynamic';

/** GET /api/billing/invoice-csv?tenantId=…&month=YYYY-MM → the invoice's lines as CSV. */
export async function GET(req: Request) {
  const q = new URL(req.url).searchParams;
  const parsed = z.object({ tenantId: z.uuid(), month: monthSchema }).safeParse({ tenantId: q.get('tenantId'), month: q.get('month') });
  if (!parsed.success) return textResponse(400, parsed.error.issues[0]?.message ?? 'Bad request.');
  const access = await tenantAccess(parsed.data.tenantId);
  if (!access.ok) return access.response;
  try {
    const inv = await invoice(getDb(), parsed.data.tenantId, parsed.data.month);
    return new Response(invoiceCsv(inv), {
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="cirrus-${access.tenant.slug}-invoice-${inv.month}.csv"`,
        'cache-control': 'no-store',
      },
    });
  } catch (err) {
    if (err instanceof DomainError) return textResponse(400, err.message);
    throw err;
  }
}
