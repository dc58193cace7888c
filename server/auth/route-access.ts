import { getDb } from '../db/client';
import type { Role } from '../tenants/roles';
import { roleAtLeast } from '../tenants/roles';
import { findMembership, type TenantSummary } from '../tenants/tenants';
import { getCurrentUser } from './session';

export const textResponse = (status: number, message: string) =>
  new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });

/**
 * For plain route handlers (files, images): the signed-in user's membership in
 * `tenantId` with at least `minRole`, or the Response that refuses them.
 */
export async function tenantAccess(tenantId: string, minRole: Role = 'viewer'): Promise<{ ok: true; tenant: TenantSummary } | { ok: false; response: Response }> {
  const user = await getCurrentUser();
  if (!user) return { ok: false, response: textResponse(401, 'Sign in to continue.') };
  const tenant = await findMembership(getDb(), user.id, { tenantId });
  if (!tenant) return { ok: false, response: textResponse(404, 'Not found.') };
  if (!roleAtLeast(tenant.role, minRole)) return { ok: false, response: textResponse(403, `This needs the ${minRole} role.`) };
  return { ok: true, tenant };
}
