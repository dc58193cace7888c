import { and, asc, count, eq, notInArray, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { hosts, instances } from '../db/schema';
import { DomainError } from '../errors';
import { allocatedOn, forgetPlacementStrategy, hostCapacity, HOST_STALE_AFTER_SECONDS } from '../hosts';
import { setSetting, type PlacementStrategy } from '../settings';

/** Hosts with capacity, what is allocated, what is free, and whether their server is alive. */
export async function listHosts(db: DbOrTx) {
  const rows = await db
    .select({ host: hosts, alive: sql<boolean>`${hosts.heartbeatAt} > now() - make_interval(secs => ${HOST_STALE_AFTER_SECONDS})` })
    .from(hosts)
    .orderBy(asc(hosts.name));
  return Promise.all(
    rows.map(async ({ host, alive }) => {
      const capacity = hostCapacity(host);
      const allocated = await allocatedOn(db, host.id);
      // What runs or is kept there (an evacuation is done when this is 0).
      const [on] = await db
        .select({ n: count() })
        .from(instances)
        .where(and(eq(instances.hostId, host.id), notInArray(instances.state, ['terminating', 'terminated'])));
      return {
        ...host,
        alive,
        instanceCount: on?.n ?? 0,
        capacity,
        allocated,
        free: { vcpus: capacity.vcpus - allocated.vcpus, memoryMiB: capacity.memoryMiB - allocated.memoryMiB, diskGiB: capacity.diskGiB - allocated.diskGiB },
      };
    }),
  );
}

export type HostUpdate = { hostId: string; cpuRatioPct?: number; ramRatioPct?: number; ramReserveMiB?: number; state?: 'enabled' | 'maintenance' };

/** Change allocation ratios, or put a host in maintenance (no new placements; what runs keeps running) and back. */
export async function updateHost(db: DbOrTx, actor: Actor, input: HostUpdate) {
  return db.transaction(async (tx) => {
    // NO KEY UPDATE, as placement claims a host: FOR UPDATE would also wait for every launch in flight (their instance rows' foreign keys hold KEY SHARE on the host).
    const [h] = await tx.select().from(hosts).where(eq(hosts.id, input.hostId)).for('no key update');
    if (!h) throw new DomainError('NOT_FOUND', 'That host was not found.');
    if (input.state && h.state === 'down') {
      throw new DomainError('CONFLICT', `${h.name} is down (its heartbeat stopped): it comes back by itself when its server runs again, and cannot be put in or out of maintenance until then.`);
    }
    const { hostId: _id, ...changes } = input;
    if (Object.keys(changes).length === 0) return h;
    const [updated] = await tx.update(hosts).set(changes).where(eq(hosts.id, h.id)).returning();
    await recordAudit(tx, actor, { action: 'admin.hosts.update', target: { type: 'host', id: h.id }, detail: { name: h.name, ...changes } });
    return updated!;
  });
}

/** Spread new instances over the hosts or pack them (admin setting, audited as every setting); this server takes it at once, others within seconds. */
export async function setPlacementStrategy(db: DbOrTx, actor: Actor, strategy: PlacementStrategy): Promise<void> {
  await setSetting(db, actor, 'placementStrategy', strategy);
  forgetPlacementStrategy();
}
