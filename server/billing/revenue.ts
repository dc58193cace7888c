import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { chargeTotals } from './charges';
import { currentPrices } from './prices';

/** Revenue per tenant for a month (admins): the same charge lines the tenants' invoices show, summed. */
export async function revenueByTenant(db: DbOrTx, month: string) {
  const from = new Date(`${month}-01T00:00:00Z`);
  const to = new Date(from);
  to.setUTCMonth(to.getUTCMonth() + 1);
  const { rows } = await db.execute<{ id: string; slug: string; name: string }>(sql`
    select t.id, t.slug, t.name from tenants t
    where exists (select 1 from usage_daily d where d.tenant_id = t.id and d.day >= ${month + '-01'}::date and d.day < ${to.toISOString().slice(0, 10)}::date)
       or exists (select 1 from usage_segments s where s.tenant_id = t.id and s.ended_at is null and s.started_at < ${to})
    order by t.name`);
  const totals = await chargeTotals(db, rows.map((t) => t.id), from, to);
  const out = rows.map((t) => ({ tenantId: t.id, slug: t.slug, name: t.name, totalMicro: totals.get(t.id) ?? 0 }));
  const p = await currentPrices(db);
  return { month, currency: p.currency, tenants: out.sort((a, b) => b.totalMicro - a.totalMicro), totalMicro: out.reduce((a, t) => a + t.totalMicro, 0) };
}
