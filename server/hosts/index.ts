import { and, asc, eq, gt, is, notInArray, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { DbOrTx, Tx } from '../db/client';
import { prebuilt } from '../db/named';
import { outer } from '../db/outer';
import { pgError } from '../db/pg-errors';
import { hosts, instances } from '../db/schema';
import { DomainError } from '../errors';
import type { HostInfo } from '../hypervisor';
import { NOT_COUNTED, type Usage } from '../quotas';
import { getSetting, type PlacementStrategy } from '../settings';

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
  host: { id: string; name: string; driver: string; info: HostInfo; network?: HostNetworking; nodeAddress?: string; sharedPool?: string | null },
): Promise<void> {
  const values = {
    nodeAddress: host.nodeAddress ?? null,
    sharedPool: host.sharedPool ?? null,
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
      // A host that went offline at its last shutdown comes back; one an admin put in maintenance stays there; one declared down comes back through rejoinHost (server/cluster/ha.ts).
      set: { ...values, name: host.name, heartbeatAt: sql`now()`, state: sql`case when ${hosts.state} = 'offline' then 'enabled'::host_state else ${hosts.state} end` },
    });
}

/** A host is alive while its server says so: placement skips hosts silent for longer than this. */
export const HOST_STALE_AFTER_SECONDS = 45;
export const HEARTBEAT_EVERY_MS = 10_000;

/** Returns the host's state (down: it was declared down while silent, and must rejoin). */
export async function heartbeat(db: DbOrTx, hostId: string): Promise<HostRow['state'] | null> {
  const [row] = await db.update(hosts).set({ heartbeatAt: sql`now()` }).where(eq(hosts.id, hostId)).returning({ state: hosts.state });
  return row?.state ?? null;
}

/** At a clean shutdown: no new placements until the host's server is back. */
export async function markHostOffline(db: DbOrTx, hostId: string): Promise<void> {
  await db.update(hosts).set({ state: 'offline' }).where(and(eq(hosts.id, hostId), eq(hosts.state, 'enabled')));
}

/** A suspended instance holds its disk on the host, not its vCPUs and memory: resuming or stopping it takes them back (reserveForUnsuspend). */
const HOLDS_COMPUTE = sql`${instances.state} <> 'suspended'`;

/** The instances a host holds room for: those on it, and those moving to it (they hold their old host's room too until the move ends). */
const heldBy = (hostId: string | SQL) => or(eq(instances.hostId, hostId), eq(instances.migrationHostId, hostId));

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
    .where(and(heldBy(hostId), counted));
  return row ?? { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
}

const freeOn = (host: HostRow, used: Resources): Resources => {
  const cap = hostCapacity(host);
  return { vcpus: cap.vcpus - used.vcpus, memoryMiB: cap.memoryMiB - used.memoryMiB, diskGiB: cap.diskGiB - used.diskGiB };
};

/**
 * Take room on a host for an instance already placed there — a suspended one
 * that resumes or is stopped, or one that grows — inside its transaction: the host row is
 * locked as a new instance's claim locks it (instances_claim_host, at commit),
 * so two of these (or one and a launch) cannot both take the last room. `why`
 * ends the refusal ("resume it", …).
 */
export async function reserveOnHost(tx: Tx, hostId: string, request: Partial<Resources>, why: { doing: string; otherwise: string }): Promise<void> {
  const [locked] = await tx
    .select({ host: hosts, isolation: sql<string>`current_setting('transaction_isolation')` })
    .from(hosts)
    .where(eq(hosts.id, hostId))
    .for('no key update');
  if (!locked) throw new Error(`host ${hostId} is gone`);
  // Its read of what the host holds sees the claims committed before the lock only under READ COMMITTED (as the trigger's).
  if (locked.isolation !== 'read committed') throw new Error(`room on a host is reserved only under READ COMMITTED, and this transaction is ${locked.isolation}`);
  const { host } = locked;
  const want = { vcpus: request.vcpus ?? 0, memoryMiB: request.memoryMiB ?? 0, diskGiB: request.diskGiB ?? 0 };
  const free = freeOn(host, await allocatedOn(tx, host.id));
  const short = (['vcpus', 'memoryMiB', 'diskGiB'] as const).filter((k) => want[k] > 0 && free[k] < want[k]);
  if (short.length === 0) return;
  const unit = { vcpus: 'vCPU', memoryMiB: 'MiB', diskGiB: 'GiB' };
  const needs = short.map((k) => `${want[k]} ${unit[k]}`).join(' and ');
  const has = short.map((k) => `${Math.max(0, free[k])} ${unit[k]}`).join(' and ');
  throw new DomainError('INSUFFICIENT_CAPACITY', `Its host ${host.name} has no room to ${why.doing} now: it needs ${needs} more, and ${has} ${short.length === 1 && free[short[0]!] === 1 ? 'is' : 'are'} free. ${why.otherwise}`);
}

/**
 * Room for a suspended instance's vCPUs and memory again, as it leaves `suspended` — resumed, or stopped:
 * a stopped instance holds them on its host so that it can always start (start reserves nothing).
 */
export const reserveForUnsuspend = (tx: Tx, hostId: string, request: Pick<Usage, 'vcpus' | 'memoryMiB'>, action: 'resume' | 'stop') =>
  reserveOnHost(
    tx,
    hostId,
    request,
    action === 'resume'
      ? { doing: 'resume it', otherwise: 'Try again later.' }
      : { doing: 'stop it', otherwise: 'A stopped instance keeps its vCPUs and memory on its host, ready to start; try again later.' },
  );

const liveHost = (onHost?: string | Placeholder) =>
  and(eq(hosts.state, 'enabled'), gt(hosts.heartbeatAt, sql`now() - make_interval(secs => ${HOST_STALE_AFTER_SECONDS})`), onHost ? eq(hosts.id, onHost) : undefined);

/**
 * Pick a host for `request`, without a lock: of the enabled, live (recent
 * heartbeat) hosts with room as committed now (one read), the emptiest or the
 * fullest by the admin's placement strategy.
 * This is the choice; the new instance's row claims it as its transaction
 * commits (instances_claim_host, migration 0022), which makes it good or
 * refuses it (placementTransaction). `onHost`: only that host will do (a clone
 * is made where its source's files are). The refusal is returned, not thrown,
 * so a launch can choose before it takes its tenant's quota lock and still
 * say "quota exceeded" first when both apply. `avoid`: any host but those
 * (a move away from one; a spread group's hosts).
 */
export async function chooseHost(
  tx: Tx,
  request: Pick<Usage, 'vcpus' | 'memoryMiB' | 'diskGiB'>,
  onHost?: string,
  avoid: readonly string[] = [],
  needs: { sharedPool?: string | true } = {},
): Promise<HostRow | DomainError> {
  return pickHost(await readPlacement(tx, onHost), request, onHost, avoid, needs);
}

/** The live hosts with what each holds, as committed now, and the admin's strategy: what pickHost chooses from. */
export type PlacementView = {
  candidates: { host: HostRow; vcpus: number; memoryMiB: number; diskGiB: number }[];
  strategy: PlacementStrategy;
};

/** One read of the hosts a new instance may go to (only `onHost` when given), for pickHost and takeRoom. */
export async function readPlacement(tx: DbOrTx, onHost?: string): Promise<PlacementView> {
  const candidates = onHost ? await candidateHost(tx, { onHost }) : await candidateHosts(tx);
  return { candidates, strategy: await placementStrategy(tx) };
}

/**
 * chooseHost's choice from a view read before: a batch of launches reads the
 * hosts once and, after each choice, takes its room (takeRoom) so the next
 * sees what is left. A refusal is returned, as chooseHost's.
 */
export function pickHost(
  view: PlacementView,
  request: Pick<Usage, 'vcpus' | 'memoryMiB' | 'diskGiB'>,
  onHost?: string,
  avoid: readonly string[] = [],
  needs: { sharedPool?: string | true } = {},
): HostRow | DomainError {
  const pool = needs.sharedPool;
  const candidates = view.candidates.filter(
    (c) =>
      (!onHost || c.host.id === onHost) &&
      !avoid.includes(c.host.id) &&
      (pool === undefined || (pool === true ? c.host.sharedPool !== null : c.host.sharedPool === pool)),
  );
  if (candidates.length === 0) {
    return new DomainError(
      'INSUFFICIENT_CAPACITY',
      onHost
        ? 'Its host is not accepting new instances right now (offline or in maintenance). Try again later or ask an administrator.'
        : pool !== undefined
          ? 'No host with a shared pool is accepting new instances right now, and an auto-recover instance keeps its disk on one. Try again later or ask an administrator.'
          : 'No host is accepting new instances right now. Try again later or ask an administrator.',
    );
  }
  let chosen: { host: HostRow; score: number } | null = null;
  let best: { free: Resources } | null = null;
  for (const { host, ...used } of candidates) {
    const free = freeOn(host, used);
    if (fits(free, request)) {
      // Spread: the host with the largest share of its room free; pack: the smallest that still fits. Ties: the first by id.
      const score = roomLeft(host, free);
      if (!chosen || (view.strategy === 'spread' ? score > chosen.score : score < chosen.score)) chosen = { host, score };
    }
    if (!best || free.memoryMiB > best.free.memoryMiB) best = { free };
  }
  if (chosen) return chosen.host;
  const f = best!.free;
  return new DomainError(
    'INSUFFICIENT_CAPACITY',
    `${onHost ? `Its host ${candidates[0]!.host.name} has no` : 'No host has'} room for ${request.vcpus} vCPU, ${request.memoryMiB} MiB and ${request.diskGiB} GiB: ` +
      `${onHost ? 'it' : 'the roomiest'} has ${Math.max(0, f.vcpus)} vCPU, ${Math.max(0, f.memoryMiB)} MiB and ${Math.max(0, f.diskGiB)} GiB free. ` +
      (onHost ? 'Try again when it has room.' : 'Try a smaller size.'),
  );
}

/** The view after an instance of `request` was placed on `hostId` (the batch's own rows are claimed only at commit). */
export function takeRoom(view: PlacementView, hostId: string, request: Resources): void {
  const c = view.candidates.find((x) => x.host.id === hostId);
  if (!c) return;
  c.vcpus += request.vcpus;
  c.memoryMiB += request.memoryMiB;
  c.diskGiB += request.diskGiB;
}

/**
 * How much of a host is free, 0..1: the scarcer of its vCPUs and memory (disk
 * is rarely what fills a host first), so a host full of small-memory guests
 * does not look empty for its memory alone.
 */
function roomLeft(host: HostRow, free: Resources): number {
  const cap = hostCapacity(host);
  const share = (f: number, c: number) => (c > 0 ? Math.max(0, f) / c : 0);
  return Math.min(share(free.vcpus, cap.vcpus), share(free.memoryMiB, cap.memoryMiB));
}

// The admin setting, read at most every few seconds: every launch asks, and a change may take that long to reach every server.
const STRATEGY_TTL_MS = 5_000;
let strategyCache: { value: PlacementStrategy; at: number } | null = null;
async function placementStrategy(db: DbOrTx): Promise<PlacementStrategy> {
  if (strategyCache && Date.now() - strategyCache.at < STRATEGY_TTL_MS) return strategyCache.value;
  const value = await getSetting(db, 'placementStrategy');
  strategyCache = { value, at: Date.now() };
  return value;
}
/** Forget the cached setting (this server just changed it, or a test did). */
export const forgetPlacementStrategy = () => {
  strategyCache = null;
};

// Every launch reads them: built once, named statements.
// Each host's sums in a lateral subquery (an index scan of its own rows), not a join of every host's rows grouped after.
const candidates = (one: boolean) =>
  prebuilt(one ? 'candidate-host' : 'candidate-hosts', (db) => {
    const used = db
      .select({
        vcpus: allocatedColumns.vcpus.as('used_vcpus'),
        memoryMiB: allocatedColumns.memoryMiB.as('used_memory_mib'),
        diskGiB: allocatedColumns.diskGiB.as('used_disk_gib'),
      })
      .from(instances)
      .where(and(heldBy(outer(hosts.id)), counted))
      .as('used');
    return db
      .select({ host: hosts, vcpus: used.vcpus, memoryMiB: used.memoryMiB, diskGiB: used.diskGiB })
      .from(hosts)
      .crossJoinLateral(used)
      .where(liveHost(one ? sql.placeholder('onHost') : undefined))
      .orderBy(asc(hosts.id));
  });
const candidateHost = candidates(true);
const candidateHosts = candidates(false);

const fits = (free: Resources, request: Resources) => free.vcpus >= request.vcpus && free.memoryMiB >= request.memoryMiB && free.diskGiB >= request.diskGiB;

/**
 * The hosts where a tenant's spread group has a live instance already (a new
 * one of the group goes elsewhere). Read under the tenant's quota lock, it is
 * exact: the tenant's launches take that lock one at a time.
 */
export async function spreadGroupHosts(tx: DbOrTx, tenantId: string, group: string, except?: string): Promise<string[]> {
  const rows = await tx
    .selectDistinct({ hostId: instances.hostId, moving: instances.migrationHostId })
    .from(instances)
    .where(and(eq(instances.tenantId, tenantId), eq(instances.spreadGroup, group), notInArray(instances.state, ['terminating', 'terminated']), except ? sql`${instances.id} <> ${except}` : undefined));
  return [...new Set(rows.flatMap((r) => [r.hostId, r.moving].filter((h): h is string => !!h)))];
}

/** The SQLSTATE instances_claim_host raises when a new instance's host went away or filled up between chooseHost and the commit. */
export const PLACEMENT_LOST = 'CRPL1';

/**
 * Run a transaction that places a new instance (chooseHost, then the insert of
 * its `pending` row) and run it again when its placement was lost to a
 * concurrent one: the next run chooses from what is committed by then (another
 * host, or a refusal that says how much room is left). A few tries, then the
 * loss is the refusal. The claim is the row's, checked as the transaction
 * commits, so the host's row is locked only for the commit; nested in a
 * caller's transaction (EC2's RunInstances, a savepoint per launch), it is
 * checked before this savepoint ends instead, so the loss is retried here and
 * not found at the caller's commit.
 */
export async function placementTransaction<T>(db: DbOrTx, run: (tx: Tx) => Promise<T>, tries = 3): Promise<T> {
  const nested = is(db, PgTransaction);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const out = await run(tx);
        // Claimed now, then deferred again: SET CONSTRAINTS lasts for the rest of the caller's transaction otherwise.
        if (nested) {
          await tx.execute(sql`set constraints instances_claim_host immediate`);
          await tx.execute(sql`set constraints instances_claim_host deferred`);
        }
        return out;
      });
    } catch (e) {
      const lost = pgError(e);
      if (lost?.code !== PLACEMENT_LOST) throw e;
      if (attempt >= tries) {
        const host = lost.detail ? `Host ${lost.detail}` : 'The host chosen';
        throw new DomainError('INSUFFICIENT_CAPACITY', `${host} filled up or stopped taking new instances while this request was being placed. Try again.`);
      }
    }
  }
}
