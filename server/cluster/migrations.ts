// Asking for a live migration, and reading how moves went. The move itself
// is a job of the source's node (migrate.ts); here it is accepted or refused
// in one transaction: the target chosen (or checked) and its room claimed as
// a launch claims it, the move recorded, the job queued.
import { and, count, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { hosts, instanceMigrations, instances, networkInterfaces, snapshots, volumes } from '../db/schema';
import { violates } from '../db/pg-errors';
import { DomainError } from '../errors';
import { chooseHost, placementTransaction, spreadGroupHosts } from '../hosts';
import { enqueueInstanceOp } from '../jobs';
import { recordInstanceEvent } from '../instances/transition';
import { underlayOf } from '../network/host-spec';

export type MigrationRow = typeof instanceMigrations.$inferSelect;
export type MigrationReason = MigrationRow['reason'];
export const ACTIVE_MIGRATION_STATES = ['queued', 'preparing', 'copying', 'switching'] as const;

/**
 * Why this instance cannot move live now, in words for the admin; null when
 * it can. What a move cannot take along today: volumes (they live in their
 * host's pool), snapshots (files on their host), NICs on tenant networks
 * (a network does not span hosts yet).
 */
export async function migrationWhyNot(db: DbOrTx, inst: typeof instances.$inferSelect): Promise<string | null> {
  if (inst.state !== 'running' && inst.state !== 'stopped') {
    return `A running instance moves live and a stopped one as a copy of its disk; ${inst.name} is ${inst.state}${inst.state === 'suspended' ? ' (its saved memory is on its host: resume or stop it first)' : ''}.`;
  }
  if (!inst.hostId) return `${inst.name} has no host.`;
  if (inst.autoRecover) return `${inst.name} is auto-recover: its disk is on the shared pool, and moving such an instance between hosts is not built yet (it restarts on another host if its host goes down).`;
  if (inst.migrationHostId) return `${inst.name} is already moving to another host.`;
  const [v] = await db.select({ n: count() }).from(volumes).where(eq(volumes.instanceId, inst.id));
  if (v!.n > 0) return `${inst.name} has ${v!.n} volume${v!.n === 1 ? '' : 's'} attached; volumes stay in their host's pool: detach them first.`;
  const [s] = await db.select({ n: count() }).from(snapshots).where(eq(snapshots.instanceId, inst.id));
  if (s!.n > 0) return `${inst.name} has ${s!.n} snapshot${s!.n === 1 ? '' : 's'}, kept as files on its host; delete them (or clone from them) first.`;
  const [b] = await db
    .select({ n: count() })
    .from(networkInterfaces)
    .where(and(eq(networkInterfaces.instanceId, inst.id), isNull(networkInterfaces.releasedAt), eq(networkInterfaces.mode, 'bridged')));
  if (b!.n > 0) {
    // Its networks follow it over VXLAN between nodes' underlay addresses: a host without one (a single machine) has none to offer.
    const [h] = await db.select({ nodeAddress: hosts.nodeAddress, mode: hosts.networkMode }).from(hosts).where(eq(hosts.id, inst.hostId));
    if (h?.mode !== 'bridged' || !underlayOf(h.nodeAddress)) return `${inst.name} is on a tenant network, and its host is not a node whose networks span hosts.`;
  }
  return null;
}

/** When the instance is on tenant networks: the hosts that cannot carry them (no bridges, or no underlay address to join them over). */
export async function hostsWithoutItsNetworks(db: DbOrTx, instanceId: string): Promise<string[]> {
  const [b] = await db
    .select({ n: count() })
    .from(networkInterfaces)
    .where(and(eq(networkInterfaces.instanceId, instanceId), isNull(networkInterfaces.releasedAt), eq(networkInterfaces.mode, 'bridged')));
  if (!b?.n) return [];
  const all = await db.select({ id: hosts.id, nodeAddress: hosts.nodeAddress, mode: hosts.networkMode }).from(hosts);
  return all.filter((h) => h.mode !== 'bridged' || !underlayOf(h.nodeAddress)).map((h) => h.id);
}

/**
 * Move an instance to `targetHostId`, or to the host placement picks (any
 * but its own): live while it runs, as a copy of its disk while it is
 * stopped. Refused with a sentence when it cannot move or no host has room;
 * otherwise its move is queued on its host's node and returned.
 */
export async function requestMigration(db: DbOrTx, actor: Actor, input: { instanceId: string; targetHostId?: string | null; reason: MigrationReason }): Promise<MigrationRow> {
  return placementTransaction(db, async (tx) => {
    const [inst] = await tx.select().from(instances).where(eq(instances.id, input.instanceId)).for('update');
    if (!inst || inst.state === 'terminated') throw new DomainError('NOT_FOUND', 'That instance was not found.');
    const why = await migrationWhyNot(tx, inst);
    if (why) throw new DomainError('INVALID_STATE', why);
    if (input.targetHostId === inst.hostId) throw new DomainError('INVALID_INPUT', `${inst.name} already runs on that host: choose another.`);
    const request = { vcpus: inst.vcpus, memoryMiB: inst.memoryMiB, diskGiB: inst.diskGiB };
    // Away from its host, and from the hosts of its spread group's other instances.
    const avoid = [inst.hostId!, ...(inst.spreadGroup ? await spreadGroupHosts(tx, inst.tenantId, inst.spreadGroup, inst.id) : []), ...(await hostsWithoutItsNetworks(tx, inst.id))];
    if (input.targetHostId && avoid.includes(input.targetHostId)) {
      throw new DomainError('INVALID_INPUT', `Another instance of ${inst.name}'s spread group ${inst.spreadGroup} runs on that host: choose another.`);
    }
    const target = await chooseHost(tx, request, input.targetHostId ?? undefined, avoid);
    if (target instanceof DomainError) throw target;
    // The target's room is claimed as this commits (instances_claim_migration_host), as a launch's is.
    await tx.update(instances).set({ migrationHostId: target.id }).where(eq(instances.id, inst.id));
    const who = actor.kind === 'user' ? actor.email : 'Cirrus';
    // One move at a time (instance_migrations_active_key): one asked at the same moment is refused with a sentence, not an error.
    const [row] = await tx
      .insert(instanceMigrations)
      .values({ instanceId: inst.id, tenantId: inst.tenantId, sourceHostId: inst.hostId!, targetHostId: target.id, kind: inst.state === 'running' ? 'live' : 'cold', reason: input.reason, requestedBy: who })
      .returning()
      .catch((err: unknown) => {
        if (violates(err, 'instance_migrations_active_key')) throw new DomainError('INVALID_STATE', `${inst.name} is already moving to another host.`);
        throw err;
      });
    await enqueueInstanceOp(tx, inst.hostId!, { instanceId: inst.id, op: 'migrate', migrationId: row!.id });
    const [source] = await tx.select({ name: hosts.name }).from(hosts).where(eq(hosts.id, inst.hostId!));
    await recordInstanceEvent(tx, actor, {
      instanceId: inst.id,
      tenantId: inst.tenantId,
      action: 'migration-requested',
      message: `Moving ${inst.state === 'running' ? 'live' : 'while stopped'} from host ${source?.name ?? inst.hostId} to ${target.name}${input.reason === 'evacuation' ? ' (its host is being evacuated)' : ''}.`,
    });
    await recordAudit(tx, actor, {
      action: 'admin.instances.migrate',
      tenantId: inst.tenantId,
      target: { type: 'instance', id: inst.id },
      detail: { migration: row!.id, from: inst.hostId, to: target.id, reason: input.reason },
    });
    return row!;
  });
}

/**
 * Cancel a move before its switch. One still queued ends now (its room on the
 * target given back); one under way is cancelled by its source's node within a
 * second (migrate.ts), and the instance runs on where it was. A move at its
 * switch or ended is refused with a sentence.
 */
export async function cancelMigration(db: DbOrTx, actor: Actor, migrationId: string): Promise<MigrationRow> {
  return db.transaction(async (tx) => {
    const [m] = await tx.select().from(instanceMigrations).where(eq(instanceMigrations.id, migrationId)).for('update');
    if (!m) throw new DomainError('NOT_FOUND', 'That move was not found.');
    if (m.state === 'completed' || m.state === 'failed') throw new DomainError('INVALID_STATE', `That move has ended (${m.state}): there is nothing to cancel.`);
    if (m.state === 'switching') throw new DomainError('INVALID_STATE', 'That move is switching over to its new host: it is too late to cancel it.');
    if (m.cancelRequestedAt) return m;
    const who = actor.kind === 'user' ? actor.email : 'Cirrus';
    let row: MigrationRow;
    if (m.state === 'queued') {
      // Nothing has started: it ends here, and its job finds it ended.
      [row] = (await tx
        .update(instanceMigrations)
        .set({ state: 'failed', cancelRequestedAt: sql`now()`, cancelledBy: who, error: `${who} cancelled it before it began.`, finishedAt: sql`now()` })
        .where(eq(instanceMigrations.id, m.id))
        .returning()) as [MigrationRow];
      await tx.update(instances).set({ migrationHostId: null }).where(and(eq(instances.id, m.instanceId), eq(instances.migrationHostId, m.targetHostId)));
      await recordInstanceEvent(tx, actor, { instanceId: m.instanceId, tenantId: m.tenantId, action: 'migration-failed', message: `The move to another host was cancelled by ${who} before it began.` });
    } else {
      [row] = (await tx.update(instanceMigrations).set({ cancelRequestedAt: sql`now()`, cancelledBy: who }).where(eq(instanceMigrations.id, m.id)).returning()) as [MigrationRow];
    }
    await recordAudit(tx, actor, { action: 'admin.instances.cancelMigration', tenantId: m.tenantId, target: { type: 'instance', id: m.instanceId }, detail: { migration: m.id, state: m.state } });
    return row;
  });
}

/** An instance's moves, newest first (the admin's instance view). */
export function migrationsOf(db: DbOrTx, instanceId: string, limit = 20) {
  return db.select().from(instanceMigrations).where(eq(instanceMigrations.instanceId, instanceId)).orderBy(desc(instanceMigrations.createdAt)).limit(limit);
}

/** Moves under way, or ended within the last hour, from or to a host (the hosts page's progress). */
export function recentMigrations(db: DbOrTx) {
  return db
    .select({
      id: instanceMigrations.id,
      instanceId: instanceMigrations.instanceId,
      instanceName: instances.name,
      sourceHostId: instanceMigrations.sourceHostId,
      targetHostId: instanceMigrations.targetHostId,
      state: instanceMigrations.state,
      kind: instanceMigrations.kind,
      reason: instanceMigrations.reason,
      progress: instanceMigrations.progress,
      downtimeMs: instanceMigrations.downtimeMs,
      error: instanceMigrations.error,
      cancelRequestedAt: instanceMigrations.cancelRequestedAt,
      createdAt: instanceMigrations.createdAt,
      finishedAt: instanceMigrations.finishedAt,
    })
    .from(instanceMigrations)
    .innerJoin(instances, eq(instances.id, instanceMigrations.instanceId))
    .where(or(inArray(instanceMigrations.state, [...ACTIVE_MIGRATION_STATES]), lt(sql`now() - interval '1 hour'`, instanceMigrations.finishedAt)))
    .orderBy(desc(instanceMigrations.createdAt))
    .limit(200);
}

export type EvacuationResult = { queued: number; refused: { instanceId: string; name: string; reason: string }[] };

/**
 * Empty a host: it goes into maintenance (no new instances), then every
 * instance on it moves — live if it runs, as a copy if it is stopped — to
 * where placement puts it. What cannot move is listed with the reason; the
 * moves are the nodes' jobs, their progress on the hosts page.
 */
export async function evacuateHost(db: DbOrTx, actor: Actor, hostId: string): Promise<EvacuationResult> {
  const [host] = await db.select({ id: hosts.id, name: hosts.name }).from(hosts).where(eq(hosts.id, hostId));
  if (!host) throw new DomainError('NOT_FOUND', 'That host was not found.');
  await db.update(hosts).set({ state: 'maintenance' }).where(and(eq(hosts.id, hostId), sql`${hosts.state} <> 'maintenance'`));
  const on = await db
    .select({ id: instances.id, name: instances.name })
    .from(instances)
    .where(and(eq(instances.hostId, hostId), sql`${instances.state} not in ('terminating', 'terminated')`, isNull(instances.migrationHostId)));
  const result: EvacuationResult = { queued: 0, refused: [] };
  for (const inst of on) {
    try {
      await requestMigration(db, actor, { instanceId: inst.id, reason: 'evacuation' });
      result.queued++;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      result.refused.push({ instanceId: inst.id, name: inst.name, reason: err.message });
    }
  }
  await recordAudit(db, actor, { action: 'admin.hosts.evacuate', target: { type: 'host', id: hostId }, detail: { name: host.name, queued: result.queued, refused: result.refused.length } });
  return result;
}
