import { z } from 'zod';
import { tenantAccess, textResponse } from '@/server/auth/route-access';
import { ledgerCsv } from '@/server/billing/csv';
import { ledger } from '@/server/billing/summary';
import { getDb } from '@/server/db/client';

export const dynamic = 'force-dynamic';

const query = z
  .object({ tenantId: z.uuid(), from: z.coerce.date(), to: z.coerce.date() })
  .refine((p) => p.from < p.to, 'The period must end after it starts.')
  .refine((p) => p.to.getTime() - p.from.getTime() <= 400 * 86_400_000, 'Ask for at most 400 days at a time.');

/** GET /api/billing/ledger-csv?tenantId=…&from=ISO&to=ISO → the raw usage segments overlapping the period. */
export async function GET(req: Request) {
  const q = new URL(req.url).searchParams;
  const parsed = query.safeParse({ tenantId: q.get('tenantId'), from: q.get('from'), to: q.get('to') });
  if (!parsed.success) return textResponse(400, parsed.error.issues[0]?.message ?? 'Bad request.');
  const access = await tenantAccess(parsed.data.tenantId);
  if (!access.ok) return access.response;
  const rows = await ledger(getDb(), parsed.data.tenantId, parsed.data.from, parsed.data.to);
  return new Response(ledgerCsv(rows), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="cirrus-${access.tenant.slug}-ledger.csv"`,
      'cache-control': 'no-store',
    },
  });
}
