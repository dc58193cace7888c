import { textResponse } from '@/server/auth/route-access';
import { getCurrentUser } from '@/server/auth/session';
import { auditFiltersInput, auditForCsv } from '@/server/audit/query';
import { csvRow } from '@/server/billing/csv';
import { getDb } from '@/server/db/client';

export const dynamic = 'force-dynamic';

const FILTERS = ['tenantId', 'actor', 'action', 'outcome', 'from', 'to'] as const;

/** GET /api/admin/audit-csv?actor=…&action=…&outcome=…&tenantId=…&from=…&to=… → matching audit rows, oldest first. */
export async function GET(req: Request) {
  const user = await getCurrentUser();
  if (!user) return textResponse(401, 'Sign in to continue.');
  if (!user.isAdmin) return textResponse(403, 'Only platform administrators can export the audit log.');

  const q = new URL(req.url).searchParams;
  // An empty field in the form means "any", not "equal to nothing".
  const raw = Object.fromEntries(FILTERS.map((k) => [k, q.get(k) || undefined]));
  const parsed = auditFiltersInput.safeParse(raw);
  if (!parsed.success) return textResponse(400, parsed.error.issues[0]?.message ?? 'Bad request.');

  const rows = await auditForCsv(getDb(), parsed.data);
  let out = csvRow(['id', 'at', 'actor', 'actor_user_id', 'tenant_id', 'tenant_slug', 'action', 'target_type', 'target_id', 'outcome', 'request_id', 'detail']);
  for (const r of rows) {
    out += csvRow([
      r.id,
      r.at.toISOString(),
      r.actorLabel,
      r.actorUserId,
      r.tenantId,
      r.tenantSlug,
      r.action,
      r.targetType,
      r.targetId,
      r.outcome,
      r.requestId,
      r.detail ? JSON.stringify(r.detail) : '',
    ]);
  }
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
  return new Response(out, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="cirrus-audit-${stamp}.csv"`,
      'cache-control': 'no-store',
    },
  });
}
