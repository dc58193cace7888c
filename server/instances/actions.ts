import { sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { assertWithinBudget } from '../billing/budget-guard';
import type { DbOrTx } from '../db/client';
import { DomainError } from '../errors';
import { enqueueInstanceOp, type InstanceOp } from '../jobs';
import { reserveForUnsuspend } from '../hosts';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { allowedFrom, whyNot, type InstanceAction, type InstanceState } from './can';
import { refuseWhileCloning } from './clone';
import { getInstance, type Instance } from './queries';
import { recordInstanceEvent, transition } from './transition';

/** The actions on the instance itself (snapshots have their own requests, server/snapshots, and clones theirs, ./clone). */
export type LifecycleAction = Exclude<InstanceAction, 'snapshot' | 'restore' | 'clone' | 'capture' | 'resize'>;

const plan: Record<LifecycleAction, { to: InstanceState | null; message: string }> = {
  start: { to: 'starting', message: 'Start requested.' },
  stop: { to: 'stopping', message: 'Stop requested.' },
  reboot: { to: null, message: 'Reboot requested.' },
  suspend: { to: 'suspending', message: 'Suspend requested.' },
  resume: { to: 'resuming', message: 'Resume requested.' },
  terminate: { to: 'terminating', message: 'Terminate requested.' },
};

/**
 * start / stop / reboot / suspend / resume / terminate: check the state
 * (instanceCan rules) under the row lock, the quota, budget and host room
 * the action takes, move it, record event and audit, enqueue the job — one
 * transaction. `force` stops without waiting for the guest.
 */
export async function requestInstanceAction(
  db: DbOrTx,
  actor: Actor,
  tenantId: string,
  instanceId: string,
  action: LifecycleAction,
  opts: { force?: boolean; message?: string; onlyIfAllowed?: boolean } = {},
): Promise<Instance> {
  return db.transaction(async (tx) => {
    // The quota lock comes before the row lock, in the order launches take them.
    const limits = action === 'suspend' ? await lockTenantQuota(tx, tenantId) : null;
    await tx.execute(sql`select 1 from instances where id = ${instanceId} and tenant_id = ${tenantId} for update`);
    const locked = await getInstance(tx, tenantId, instanceId);
    const reason = whyNot(action, locked.state);
    if (reason && opts.onlyIfAllowed) return locked;
    if (reason) throw new DomainError('INVALID_STATE', `${locked.name} (${instanceId}): ${reason}`);
    // A clone being made from it reads its files: it goes, or its disk moves under a state file, after.
    if (action === 'terminate' || action === 'suspend') await refuseWhileCloning(tx, locked, `${action} it`);
    const p = plan[action];
    if (action === 'start' || action === 'resume') await assertWithinBudget(tx, tenantId);
    // Its state file can be as large as its memory until it is written.
    if (limits) checkQuota(limits, await tenantUsage(tx, tenantId), { savedStateMiB: locked.memoryMiB }, `suspending ${locked.name}`);
    // A suspended instance holds only its disk on its host: resumed or stopped, it holds its vCPUs and memory there again.
    if ((action === 'resume' || action === 'stop') && locked.state === 'suspended' && locked.hostId) await reserveForUnsuspend(tx, locked.hostId, locked, action);
    const discards = action === 'stop' && locked.state === 'suspended';
    const message =
      opts.message ?? (discards ? 'Stop requested: its saved state is discarded.' : action === 'stop' && opts.force ? 'Force stop requested.' : p.message);
    if (p.to) {
      await transition(tx, actor, instanceId, {
        from: allowedFrom(action),
        to: p.to,
        action,
        message,
        extra: action === 'terminate' ? { terminatedAt: sql`now()` } : undefined,
      });
    } else {
      await recordInstanceEvent(tx, actor, { instanceId, tenantId, action, message });
    }
    await recordAudit(tx, actor, {
      action: `instance.${action}`,
      tenantId,
      target: { type: 'instance', id: instanceId },
      detail: opts.force ? { force: true } : undefined,
    });
    if (!locked.hostId) throw new Error(`instance ${instanceId} has no host`);
    const op: InstanceOp = action === 'stop' && opts.force ? 'force-stop' : action;
    await enqueueInstanceOp(tx, locked.hostId, { instanceId, op });
    return getInstance(tx, tenantId, instanceId);
  });
}
