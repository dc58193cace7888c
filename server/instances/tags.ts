import { sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { instances } from '../db/schema';
import { DomainError } from '../errors';
import { getInstance, type Instance } from './queries';
import { tagsSchema } from './validation';

/** Tags to add or change, and keys to remove (only when their value is `value`, if one is given). */
/** Tags to set, tags to remove (by key, or key and value), or every tag (`removeAll`, decided under the row lock). */
export type TagChange = { set?: Record<string, string>; remove?: { key: string; value?: string }[]; removeAll?: boolean };

/**
 * Change the tags of some of the tenant's instances, all or none: each
 * instance's tags after the change must still be valid (keys, values, at most
 * 20). A terminated instance keeps the tags it ended with.
 */
export async function changeInstanceTags(db: DbOrTx, actor: Actor, tenantId: string, instanceIds: string[], change: TagChange): Promise<Instance[]> {
  return db.transaction(async (tx) => {
    const out: Instance[] = [];
    for (const id of [...new Set(instanceIds)].sort()) {
      await tx.execute(sql`select 1 from instances where id = ${id} and tenant_id = ${tenantId} for update`);
      const vm = await getInstance(tx, tenantId, id);
      if (vm.state === 'terminated') throw new DomainError('INVALID_STATE', `${vm.name} (${id}) is terminated: its tags no longer change.`);
      const removed: { key: string; value?: string }[] = change.removeAll ? Object.keys(vm.tags).map((key) => ({ key })) : (change.remove ?? []);
      const next: Record<string, string> = { ...(change.removeAll ? {} : vm.tags), ...change.set };
      for (const r of removed) if (r.value === undefined || next[r.key] === r.value) delete next[r.key];
      const parsed = tagsSchema.safeParse(next);
      if (!parsed.success) throw new DomainError('INVALID_INPUT', `${id}: ${parsed.error.issues[0]?.message ?? 'those tags are not valid.'}`, 'tags');
      await tx.update(instances).set({ tags: parsed.data }).where(sql`${instances.id} = ${id} and ${instances.tenantId} = ${tenantId}`);
      await recordAudit(tx, actor, { action: 'instance.tags', tenantId, target: { type: 'instance', id }, detail: { set: Object.keys(change.set ?? {}), removed: removed.map((r) => r.key) } });
      out.push(await getInstance(tx, tenantId, id));
    }
    return out;
  });
}
