import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Actor } from '../audit';
import { meterTransition } from '../billing/ledger';
import type { DbOrTx } from '../db/client';
import { instanceEvents, instances } from '../db/schema';
import { enqueueNetworkSync } from '../jobs';
import { meteredNetworkColumns, releaseInterfaces } from '../network/interfaces';
import type { InstanceState } from './can';

const GONE: readonly InstanceState[] = ['terminating', 'terminated'];

export type Transition = {
  from: readonly InstanceState[];
  to: InstanceState;
  action: string;
  message?: string | null;
  /** Written to the instance's state_reason (cleared when omitted). */
  reason?: string | null;
  extra?: Partial<{ launchedAt: ReturnType<typeof sql>; terminatedAt: ReturnType<typeof sql>; savedStateMiB: number | null }>;
  /** false: the ledger is the caller's (a resize keeps a running instance billed as running throughout). */
  meter?: boolean;
  /** Only while it is on this host: what a host saw of a guest says nothing of an instance that has moved on to another. */
  onHost?: string;
};

/**
 * Move an instance from one of `from` to `to` and record the event, or do
 * nothing when it is not in `from` (someone else moved it first). The update's
 * WHERE clause is the compare-and-set; the caller's transaction makes the
 * event, the usage ledger, the release of its addresses (on terminate) and the
 * change commit together. Returns the old state, or null.
 */
export async function transition(db: DbOrTx, actor: Actor, instanceId: string, t: Transition): Promise<InstanceState | null> {
  const [old] = await db
    .select({
      state: instances.state,
      id: instances.id,
      tenantId: instances.tenantId,
      vcpus: instances.vcpus,
      memoryMiB: instances.memoryMiB,
      diskGiB: instances.diskGiB,
      nics: instances.nics,
      hostId: instances.hostId,
      savedStateMiB: instances.savedStateMiB,
      ...meteredNetworkColumns(),
    })
    .from(instances)
    .where(and(eq(instances.id, instanceId), inArray(instances.state, [...t.from]), t.onHost ? eq(instances.hostId, t.onHost) : undefined))
    .for('update');
  if (!old) return null;
  await db
    .update(instances)
    .set({ state: t.to, stateReason: t.reason ?? null, stateChangedAt: sql`now()`, progress: null, ...t.extra })
    .where(eq(instances.id, instanceId));
  if (t.meter !== false) {
    await meterTransition(db, { ...old, savedStateMiB: t.extra?.savedStateMiB !== undefined ? t.extra.savedStateMiB : old.savedStateMiB }, old.state, t.to);
  }
  // Terminate accepted: addresses go back to their networks and port forwards close now, with the quota.
  if (!GONE.includes(old.state) && GONE.includes(t.to)) {
    await releaseInterfaces(db, instanceId);
    if (old.hostId) await enqueueNetworkSync(db, old.hostId);
  }
  await recordInstanceEvent(db, actor, { instanceId, tenantId: old.tenantId, action: t.action, from: old.state, to: t.to, message: t.message ?? t.reason ?? null });
  return old.state;
}

type InstanceEvent = { instanceId: string; tenantId: string; action: string; from?: InstanceState | null; to?: InstanceState | null; message?: string | null };

export async function recordInstanceEvent(db: DbOrTx, actor: Actor, e: InstanceEvent) {
  await db.execute(instanceEventInsert(db, actor, e));
}

/** recordInstanceEvent's insert, for a caller that runs it with its other writes in one statement (writeTogether). */
export function instanceEventInsert(db: DbOrTx, actor: Actor, e: InstanceEvent): SQL {
  return db.insert(instanceEvents).values({
    instanceId: e.instanceId,
    tenantId: e.tenantId,
    actorUserId: actor.kind === 'user' ? actor.userId : null,
    actorLabel: actor.kind === 'user' ? actor.email : 'Cirrus',
    action: e.action,
    fromState: e.from ?? null,
    toState: e.to ?? null,
    message: e.message ?? null,
  }).getSQL();
}
