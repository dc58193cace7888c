import { and, asc, eq, gt, notInArray, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client';
import { hosts, instances } from '../db/schema';
import { DomainError } from '../errors';
import type { HostInfo } from '../hypervisor';
import { NOT_COUNTED, type Usage } from '../quotas';

export type HostRow = typeof hosts.$inferSelect;
type Resources = { vcpus: number; memoryMiB: number; diskGiB: number };

/** What a host can hold: cores × CPU ratio, RAM × RAM ratio minus the reserve, and its free disk. */
export function hostCapacity(h: Pick<HostRow, 'cpus' | 'memoryMiB' | 'diskGiB' | 'cpuRatioPct' | 'ramRatioPct' | 'ramReserveMiB'>): Resources {
  return {
    vcpus: Math.floor((h.cpus * h.cpuRatioPct) / 100),
    memoryMiB: Math.max(0, Math.floor((h.memoryMiB * h.ramRatioPct) / 100) - h.ramReserveMiB),
    diskGiB: h.diskGiB,
  };
}

export type HostNetworking = { mode: 'bridged' | 'user'; note: string | null };

/** The local host announces itself at start with what the driver reports. Ratios set by admins are kept. */
export async function registerHost(
  db: DbOrTx,
  host: { id: string; name: string; driver: string; info: HostInfo; network?: HostNetworking },
): Promise<void> {
  const values = {
    cpus: host.info.cpus,
    memoryMiB: host.info.memoryMiB,
    diskGiB: host.info.freeDiskGiB,
    acceleration: host.info.acceleration,
    driver: host.driver,
    networkMode: host.network?.mode ?? 'user',
    networkNote: host.network ? host.network.note : 'This host does not build tenant networks.',
    isolation: host.info.isolation,
  };
  await db
    .insert(hosts)
    .values({ id: host.id, name: host.name, ...values })
    .onConflictDoUpdate({
      target: hosts.id,
      // A host that went offline at its last shutdown comes back; one an admin put in maintenance stays there.
      set: { ...values, name: host.name, heartbeatAt: sql`now()`, state: sql`case when ${hosts.state} = 'offline' then 'enabled'::host_state else ${hosts.state} end` },
    });
}

/** A host is alive while its server says so: placement skips hosts silent for longer than this. */
export const HOST_STALE_AFTER_SECONDS = 45;
export const HEARTBEAT_EVERY_MS = 10_000;

export async function heartbeat(db: DbOrTx, hostId: string): Promise<void> {
  await db.update(hosts).set({ heartbeatAt: sql`now()` }).where(eq(hosts.id, hostId));
}

/** At a clean shutdown: no new placements until the host's server is back. */
export async function markHostOffline(db: DbOrTx, hostId: string): Promise<void> {
  await db.update(hosts).set({ state: 'offline' }).where(and(eq(hosts.id, hostId), eq(hosts.state, 'enabled')));
}

/** A suspended instance holds its disk on the host, not its vCPUs and memory: resuming takes them back (reserveForResume). */
const HOLDS_COMPUTE = sql`${instances.state} <> 'suspended'`;

/** What the instances rows in scope hold of a host (aggregates, so the rows are the live ones on that host). */
const allocatedColumns = {
  vcpus: sql<number>`coalesce(sum(${instances.vcpus}) filter (where ${HOLDS_COMPUTE}), 0)::int`,
  memoryMiB: sql<number>`coalesce(sum(${instances.memoryMiB}) filter (where ${HOLDS_COMPUTE}), 0)::int`,
  diskGiB: sql<number>`coalesce(sum(${instances.diskGiB}), 0)::int`,
};
const counted = notInArray(instances.state, [...NOT_COUNTED]);

export async function allocatedOn(db: DbOrTx, hostId: string): Promise<Resources> {
  const [row] = await db
    .select(allocatedColumns)
    .from(instances)
    .where(and(eq(instances.hostId, hostId), counted));
  return row ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
}

const freeOn = (host: HostRow, used: Resources): Resources => {
  const cap = hostCapacity(host);
  return { vcpus: cap.vcpus - used.vcpus, memoryMiB: cap.memoryMiB - used.memoryMiB, diskGiB: cap.diskGiB - used.diskGiB };
};

/**
 * Take room on a host for an instance already placed there — a suspended one
 * that resumes, or one that grows — inside its transaction: the host row is
 * locked as placement claims it (claimPlacement), so two of these (or one and
 * a launch) cannot both take the last room. `why` ends the refusal ("resume it", …).
 */
export async function reserveOnHost(tx: Tx, hostId: string, request: Partial<Resources>, why: { doing: string; otherwise: string }): Promise<void> {
  const [host] = await tx.select().from(hosts).where(eq(hosts.id, hostId)).for('no key update');
  if (!host) throw new Error(`host ${hostId} is gone`);
  const want = { vcpus: request.vcpus ?? 0, memoryMiB: request.memoryMiB ?? 0, diskGiB: request.diskGiB ?? 0 };
  const free = freeOn(host, await allocatedOn(tx, host.id));
  const short = (['vcpus', 'memoryMiB', 'diskGiB'] as const).filter((k) => want[k] > 0 && free[k] < want[k]);
  if (short.length === 0) return;
  const unit = { vcpus: 'vCPU', memoryMiB: 'MiB', diskGiB: 'GiB' };
  const needs = short.map((k) => `${want[k]} ${unit[k]}`).join(' and ');
  const has = short.map((k) => `${Math.max(0, free[k])} ${unit[k]}`).join(' and ');
  throw new DomainError('INSUFFICIENT_CAPACITY', `Its host ${host.name} has no room to ${why.doing} now: it needs ${needs} more, and ${has} ${short.length === 1 && free[short[0]!] === 1 ? 'is' : 'are'} free. ${why.otherwise}`);
}

/** Room for a suspended instance's vCPUs and memory again. */
export const reserveForResume = (tx: Tx, hostId: string, request: Pick<Usage, 'vcpus' | 'memoryMiB'>) =>
  reserveOnHost(tx, hostId, request, { doing: 'resume it', otherwise: 'Try again later, or stop it to give up its saved state.' });

const liveHost = (onHost?: string) =>
  and(eq(hosts.state, 'enabled'), gt(hosts.heartbeatAt, sql`now() - make_interval(secs => ${HOST_STALE_AFTER_SECONDS})`), onHost ? eq(hosts.id, onHost) : undefined);

/**
 * Pick a host for `request`, inside the launch transaction but without a lock:
 * of the enabled, live (recent heartbeat) hosts, the first by id with room as
 * committed now, in one read. This is the choice; claimPlacement, the
 * transaction's last step, makes it good or refuses it. `onHost`: only that
 * host will do (a clone is made where its source's files are).
 */
export async function chooseHost(tx: Tx, request: Pick<Usage, 'vcpus' | 'memoryMiB' | 'diskGiB'>, onHost?: string): Promise<HostRow> {
  const candidates = await tx
    .select({ host: hosts, ...allocatedColumns })
    .from(hosts)
    .leftJoin(instances, and(eq(instances.hostId, hosts.id), counted))
    .where(liveHost(onHost))
    .groupBy(hosts.id)
    .orderBy(asc(hosts.id));
  if (candidates.length === 0) {
    throw new DomainError(
      'INSUFFICIENT_CAPACITY',
      onHost
        ? 'Its host is not accepting new instances right now (offline or in maintenance). Try again later or ask an administrator.'
        : 'No host is accepting new instances right now. Try again later or ask an administrator.',
    );
  }
  let best: { free: Resources } | null = null;
  for (const { host, ...used } of candidates) {
    const free = freeOn(host, used);
    if (fits(free, request)) return host;
    if (!best || free.memoryMiB > best.free.memoryMiB) best = { free };
  }
  const f = best!.free;
  throw new DomainError(
    'INSUFFICIENT_CAPACITY',
    `${onHost ? `Its host ${candidates[0]!.host.name} has no` : 'No host has'} room for ${request.vcpus} vCPU, ${request.memoryMiB} MiB and ${request.diskGiB} GiB: ` +
      `${onHost ? 'it' : 'the roomiest'} has ${Math.max(0, f.vcpus)} vCPU, ${Math.max(0, f.memoryMiB)} MiB and ${Math.max(0, f.diskGiB)} GiB free. ` +
      (onHost ? 'Try again when it has room.' : 'Try a smaller size.'),
  );
}

const fits = (free: Resources, request: Resources) => free.vcpus >= request.vcpus && free.memoryMiB >= request.memoryMiB && free.diskGiB >= request.diskGiB;

/** The host chosen for a new instance went away or filled up between chooseHost and claimPlacement: the transaction is run again (retryPlacement). */
export class PlacementLost extends Error {
  constructor(readonly hostName: string) {
    super(`Host ${hostName} filled up or stopped taking new instances while this request was being placed.`);
    this.name = 'PlacementLost';
  }
}

/**
 * Make a placement good, as the last step of the transaction that put a new
 * instance on `host`, just before its commit: lock the host's row, then read
 * again what the host holds, this transaction's own new instance included.
 * Every placement (and reserveOnHost) holds that lock from its read to its
 * commit, so each read sees every earlier one committed: the host cannot be
 * overcommitted, and launches queue on it only for this step and the commit,
 * not for the rest of their transactions. FOR NO KEY UPDATE, because the new
 * instance rows' foreign keys hold KEY SHARE on the host row until they
 * commit, which FOR UPDATE would wait for (and deadlock on).
 */
export async function claimPlacement(tx: Tx, host: HostRow): Promise<void> {
  const [locked] = await tx.select().from(hosts).where(and(eq(hosts.id, host.id), liveHost())).for('no key update');
  if (!locked) throw new PlacementLost(host.name);
  const free = freeOn(locked, await allocatedOn(tx, host.id));
  if (free.vcpus < 0 || free.memoryMiB < 0 || free.diskGiB < 0) throw new PlacementLost(host.name);
}

/**
 * Run a transaction that places a new instance (chooseHost … claimPlacement)
 * again when its placement was lost to a concurrent one: the next run chooses
 * from what is committed by then (another host, or a refusal that says how
 * much room is left). A few tries, then the loss is the refusal.
 */
export async function retryPlacement<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof PlacementLost)) throw e;
      if (attempt >= tries) throw new DomainError('INSUFFICIENT_CAPACITY', `${e.message} Try again.`);
    }
  }
}
