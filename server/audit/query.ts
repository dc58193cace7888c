import { and, asc, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../db/client';
import { escapeLike, containsAny } from '../db/like';
import { DomainError } from '../errors';
import { auditLog, tenants } from '../db/schema';

// 1. Filters: what an admin can narrow the audit log by.

export type AuditFilters = {
  tenantId?: string;
  /** Case-insensitive substring of the actor's label (their e-mail, or "system"). */
  actor?: string;
  /** `instance.` matches every instance action; `instance.stop` that one (and `instance.stop.*`). */
  action?: string;
  outcome?: 'success' | 'failure';
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
};

const AUDIT_PAGE_MAX = 200;
const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_CSV_MAX = 100_000;

const auditFilterFields = z.object({
  tenantId: z.uuid('Tenant must be a tenant id (a UUID).').optional(),
  actor: z.string().trim().max(200, 'Actor is at most 200 characters.').optional(),
  action: z
    .string()
    .trim()
    .max(100, 'Action is at most 100 characters.')
    .regex(/^[A-Za-z0-9_.-]*$/, 'Action is letters, digits and dots, like "instance." or "instance.stop".')
    .optional(),
  outcome: z.enum(['success', 'failure'], 'Outcome is "success" or "failure".').optional(),
  from: z.coerce.date('"From" must be a date and time.').optional(),
  to: z.coerce.date('"To" must be a date and time.').optional(),
});

const fromBeforeTo = (f: { from?: Date; to?: Date }) => !f.from || !f.to || f.from < f.to;
const fromBeforeToIssue = { message: '"To" must be after "From".', path: ['to'] };

/** The filters as the API takes them (tRPC input and the CSV route's query string). */
export const auditFiltersInput = auditFilterFields.refine(fromBeforeTo, fromBeforeToIssue);

export const auditListInput = auditFilterFields
  .extend({
    cursor: z.string().max(100, 'That page link is not valid.').optional(),
    limit: z.int('Limit is a whole number.').min(1, 'Ask for at least 1 row.').max(AUDIT_PAGE_MAX, `Ask for at most ${AUDIT_PAGE_MAX} rows a page.`).default(AUDIT_PAGE_DEFAULT),
  })
  .refine(fromBeforeTo, fromBeforeToIssue);


function filterConditions(f: AuditFilters): SQL[] {
  const where: SQL[] = [];
  if (f.tenantId) where.push(eq(auditLog.tenantId, f.tenantId));
  if (f.actor) where.push(containsAny(f.actor, auditLog.actorLabel));
  if (f.action) {
    const a = f.action;
    const prefix = sql`${auditLog.action} like ${`${escapeLike(a.endsWith('.') ? a : `${a}.`)}%`}`;
    where.push(a.endsWith('.') ? prefix : (or(eq(auditLog.action, a), prefix) as SQL));
  }
  if (f.outcome) where.push(eq(auditLog.outcome, f.outcome));
  if (f.from) where.push(gte(auditLog.at, f.from));
  if (f.to) where.push(lt(auditLog.at, f.to));
  return where;
}

// 2. Rows: one select shape for the page and the CSV.

const auditSelect = {
  id: auditLog.id,
  at: auditLog.at,
  actorLabel: auditLog.actorLabel,
  actorUserId: auditLog.actorUserId,
  tenantId: auditLog.tenantId,
  tenantName: tenants.name,
  tenantSlug: tenants.slug,
  action: auditLog.action,
  targetType: auditLog.targetType,
  targetId: auditLog.targetId,
  outcome: auditLog.outcome,
  requestId: auditLog.requestId,
  detail: auditLog.detail,
};

type AuditRowRaw = { id: bigint } & Record<string, unknown>;
const withStringId = <T extends AuditRowRaw>(r: T) => ({ ...r, id: String(r.id) });

// 3. Cursor: the id of the last row shown. Ordering uses that row's exact
// timestamp from the database, so microseconds JavaScript dates would lose
// cannot skip or repeat rows.

const encodeCursor = (id: string) => Buffer.from(`a:${id}`).toString('base64url');

export function decodeCursor(cursor: string): bigint | null {
  const m = /^a:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? BigInt(m[1]!) : null;
}

// 4. Queries.

/** A page of the audit log, newest first, with the cursor of the next (older) page. */
export async function listAudit(db: DbOrTx, filters: AuditFilters & { cursor?: string; limit?: number }) {
  const limit = Math.min(Math.max(filters.limit ?? AUDIT_PAGE_DEFAULT, 1), AUDIT_PAGE_MAX);
  const where = filterConditions(filters);
  if (filters.cursor) {
    const id = decodeCursor(filters.cursor);
    if (id === null) throw new DomainError('INVALID_INPUT', 'That page link is not valid; start again from the first page.', 'cursor');
    where.push(sql`(${auditLog.at}, ${auditLog.id}) < (select a.at, a.id from audit_log a where a.id = ${id})`);
  }
  const rows = await db
    .select(auditSelect)
    .from(auditLog)
    .leftJoin(tenants, eq(tenants.id, auditLog.tenantId))
    .where(and(...where))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(withStringId);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

export type AuditListItem = Awaited<ReturnType<typeof listAudit>>['items'][number];

/** Every matching row (up to AUDIT_CSV_MAX), oldest first, for export. */
export async function auditForCsv(db: DbOrTx, filters: AuditFilters) {
  const rows = await db
    .select(auditSelect)
    .from(auditLog)
    .leftJoin(tenants, eq(tenants.id, auditLog.tenantId))
    .where(and(...filterConditions(filters)))
    .orderBy(asc(auditLog.at), asc(auditLog.id))
    .limit(AUDIT_CSV_MAX);
  return rows.map(withStringId);
}
