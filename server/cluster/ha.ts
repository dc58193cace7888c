// High availability: a compute node whose heartbeat stops is declared down,
// fenced, and its auto-recover instances restart on other hosts of its shared
// pool. PostgreSQL is the only coordinator: each step is a compare-and-set on
// the host's row, so two control planes watching at once do each step once.
//
//   1. Declare: a node (a host with a node address) in enabled or maintenance
//      whose heartbeat is older than CIRRUS_HOST_DOWN_AFTER goes `down`. Every
//      live instance on it goes to `error` ("host down"), remembering the state
//      it was in (recover_to) and closing what was metered while it ran; a move
//      from it ends failed.
//   2. Fence: CIRRUS_FENCE_COMMAND runs with the host's name, id and node
//      address and must not exit 0 until the host can run nothing any more (a
//      power switch, a BMC, a hypervisor's API; in `npm run cluster`, its network
//      namespace's processes killed). Until it has, nothing on it restarts
//      elsewhere: a guest that still ran there and one started elsewhere would
//      both write its disk. With no fence command, down hosts are never fenced
//      and their instances wait (the hosts page says so).
//   3. Recover: once fenced, each auto-recover instance whose disk is on the
//      shared pool goes to a live host of the same pool with room (placement's
//      choice; its spread group still kept apart), claimed at commit like a
//      launch; it starts there (or is taken over stopped or suspended, as it
//      was). One that finds no room stays in error and is tried again.
//   4. Return: a down host whose server runs again (its start, or its
//      heartbeat answered while it was down) is enabled again; the instances
//      still on it leave `error` as they were — stopped, or suspended — and a
//      guest still running there is found running by its reconciler. What was
//      recovered elsewhere is no longer on it, and its driver no longer lists
//      those guests (the shared pool's owner file): it never starts them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { and, eq, inArray, isNotNull, isNull, lt, notInArray, sql } from 'drizzle-orm';
import { recordAudit, systemActor } from '../audit';
import type { Db, DbOrTx, Tx } from '../db/client';
import { hosts, instanceMigrations, instances } from '../db/schema';
import { DomainError } from '../errors';
import { chooseHost, HEARTBEAT_EVERY_MS, placementTransaction, spreadGroupHosts, type HostRow } from '../hosts';
import type { InstanceState } from '../instances/can';
import { transition } from '../instances/transition';
import { enqueueInstanceOp } from '../jobs';
import { hostsWithoutItsNetworks } from './migrations';

const cirrus = systemActor('ha');

/** What a fence is given: which host, and where its node was. Resolves once the host runs nothing; throws otherwise. */
export type Fence = (host: { id: string; name: string; nodeAddress: string | null }) => Promise<void>;

export type HaConfig = { downAfterSeconds: number; fence: Fence | null; fenceCommand: string | null };

export const DEFAULT_DOWN_AFTER_SECONDS = 60;

/**
 * CIRRUS_HOST_DOWN_AFTER (seconds, 20–3600, default 60: at least two of a
 * node's heartbeats, every 10 s, so one late beat declares nothing) and
 * CIRRUS_FENCE_COMMAND (an absolute path to an executable), checked at start.
 */
export function haConfig(env: Record<string, string | undefined> = process.env): HaConfig {
  const raw = env.CIRRUS_HOST_DOWN_AFTER?.trim();
  const downAfterSeconds = raw ? Number(raw) : DEFAULT_DOWN_AFTER_SECONDS;
  const least = (2 * HEARTBEAT_EVERY_MS) / 1000;
  if (!Number.isInteger(downAfterSeconds) || downAfterSeconds < least || downAfterSeconds > 3600) {
    throw new Error(`CIRRUS_HOST_DOWN_AFTER must be a whole number of seconds from ${least} (two heartbeats) to 3600, not ${JSON.stringify(raw)}`);
  }
  const command = env.CIRRUS_FENCE_COMMAND?.trim() || null;
  if (command !== null && !path.isAbsolute(command)) throw new Error(`CIRRUS_FENCE_COMMAND must be an absolute path to an executable, not ${JSON.stringify(command)}`);
  return { downAfterSeconds, fence: command ? commandFence(command) : null, fenceCommand: command };
}

/** A fence that runs `command <name> <id> <node address>` (no shell) and counts exit 0 as fenced, within 2 minutes. */
export function commandFence(command: string, timeoutMs = 120_000): Fence {
  return (host) =>
    new Promise((resolve, reject) => {
      execFile(command, [host.name, host.id, host.nodeAddress ?? ''], { timeout: timeoutMs }, (err, _out, stderr) => {
        if (!err) return resolve();
        const said = String(stderr).trim().split('\n').slice(-3).join(' ').slice(0, 300);
        reject(new Error(`${path.basename(command)} ${err.killed ? `gave no answer within ${timeoutMs / 1000} s` : `exited with ${err.code ?? err.signal}`}${said ? `: ${said}` : ''}`));
      });
    });
}

/** The states an instance on a down host waits in `error` to go back to (recover_to); others have nothing to go back to. */
const WAITS_AS: Partial<Record<InstanceState, InstanceState>> = {
  running: 'running',
  starting: 'running',
  pending: 'running',
  stopping: 'stopped',
  stopped: 'stopped',
  suspending: 'stopped', // its state was never complete: it boots from its disk
  suspended: 'suspended',
  resuming: 'suspended',
};

/** What a recovered instance can be on another host. */
const RECOVERABLE: InstanceState[] = ['running', 'stopped', 'suspended'];

/**
 * Declare the nodes whose heartbeat is older than `downAfterSeconds` down
 * (each by a compare-and-set: one control plane wins) and put their instances
 * in error. Returns the hosts declared now.
 */
export async function declareDownHosts(db: Db, downAfterSeconds: number, log: (m: string) => void = () => undefined): Promise<HostRow[]> {
  const silent = await db
    .select({ id: hosts.id })
    .from(hosts)
    .where(and(inArray(hosts.state, ['enabled', 'maintenance']), isNotNull(hosts.nodeAddress), lt(hosts.heartbeatAt, sql`now() - make_interval(secs => ${downAfterSeconds})`)));
  const declared: HostRow[] = [];
  for (const { id } of silent) {
    const host = await db.transaction(async (tx) => {
      const [h] = await tx
        .update(hosts)
        .set({ state: 'down', downAt: sql`now()`, fencedAt: null })
        .where(and(eq(hosts.id, id), inArray(hosts.state, ['enabled', 'maintenance']), lt(hosts.heartbeatAt, sql`now() - make_interval(secs => ${downAfterSeconds})`)))
        .returning();
      if (!h) return null; // it answered meanwhile, or another control plane declared it
      const silentFor = await tx.execute<{ s: number }>(sql`select extract(epoch from now() - ${h.heartbeatAt})::int as s`);
      await recordAudit(tx, cirrus, { action: 'hosts.down', target: { type: 'host', id: h.id }, detail: { name: h.name, silentSeconds: Number(silentFor.rows[0]?.s ?? 0) } });
      await instancesToError(tx, h);
      return h;
    });
    if (host) {
      declared.push(host);
      log(`[ha] host ${host.name} is down: no heartbeat for more than ${downAfterSeconds} s`);
    }
  }
  return declared;
}

/** Every live instance on a host just declared down goes to error, remembering what it was; moves from it end. */
async function instancesToError(tx: Tx, h: HostRow): Promise<void> {
  // Moves from it cannot finish: their target's half is an orphan there now (its reconciler removes it).
  const moves = await tx
    .update(instanceMigrations)
    .set({ state: 'failed', error: `Its source host ${h.name} went down.`, finishedAt: sql`now()` })
    .where(and(eq(instanceMigrations.sourceHostId, h.id), inArray(instanceMigrations.state, ['queued', 'preparing', 'copying', 'switching'])))
    .returning({ instanceId: instanceMigrations.instanceId });
  if (moves.length) await tx.update(instances).set({ migrationHostId: null }).where(inArray(instances.id, moves.map((m) => m.instanceId)));

  const rows = await tx
    .select({ id: instances.id, state: instances.state, autoRecover: instances.autoRecover })
    .from(instances)
    .where(and(eq(instances.hostId, h.id), notInArray(instances.state, ['terminated', 'error'])));
  for (const inst of rows) {
    if (inst.state === 'terminating') {
      // Its disk goes with the host (its reconciler removes the guest of a terminated instance when it comes back).
      await transition(tx, cirrus, inst.id, { from: ['terminating'], to: 'terminated', action: 'terminated', message: `Its host ${h.name} went down; it is terminated.`, extra: { terminatedAt: sql`now()` } });
      continue;
    }
    // A resize keeps its own ledger (billed as it was) and its job waits in its host's queue: it goes on when the host is back.
    if (inst.state === 'resizing') continue;
    const back = WAITS_AS[inst.state] ?? null;
    const recovers = inst.autoRecover && back !== null && RECOVERABLE.includes(back) && h.sharedPool !== null;
    const reason = recovers
      ? `Host down: ${h.name} stopped answering. It restarts on another host once ${h.name} is fenced.`
      : `Host down: ${h.name} stopped answering, and its disk is there. ${back ? 'It comes back when the host does.' : 'Terminate it, or wait for the host.'}`;
    await transition(tx, cirrus, inst.id, { from: [inst.state], to: 'error', action: 'host-down', reason });
    await tx.update(instances).set({ recoverTo: back }).where(eq(instances.id, inst.id));
  }
}

/** Fence the down hosts not fenced yet; returns those fenced now. A fence that fails is tried again at the next round. */
export async function fenceDownHosts(db: Db, fence: Fence | null, log: (m: string) => void = () => undefined): Promise<HostRow[]> {
  // down_at as PostgreSQL wrote it (microseconds): the outage fenced is the one seen here.
  const waiting = await db.select({ host: hosts, outage: sql<string>`${hosts.downAt}::text` }).from(hosts).where(and(eq(hosts.state, 'down'), isNull(hosts.fencedAt)));
  const fenced: HostRow[] = [];
  for (const { host: h, outage } of waiting) {
    if (!fence) continue;
    try {
      await fence({ id: h.id, name: h.name, nodeAddress: h.nodeAddress });
    } catch (err) {
      log(`[ha] fencing ${h.name} failed (tried again): ${err instanceof Error ? err.message : err}`);
      continue;
    }
    // Only the same outage's: a host that came back meanwhile (down_at cleared) is not marked.
    const [done] = await db.transaction(async (tx) => {
      const out = await tx
        .update(hosts)
        .set({ fencedAt: sql`now()` })
        .where(and(eq(hosts.id, h.id), eq(hosts.state, 'down'), isNull(hosts.fencedAt), sql`${hosts.downAt} = ${outage}::timestamptz`))
        .returning();
      if (out[0]) await recordAudit(tx, cirrus, { action: 'hosts.fenced', target: { type: 'host', id: h.id }, detail: { name: h.name } });
      return out;
    });
    if (done) {
      fenced.push(done);
      log(`[ha] host ${h.name} is fenced`);
    }
  }
  return fenced;
}

export type Recovered = { instanceId: string; from: string; to: string; state: InstanceState };

/**
 * Recover the auto-recover instances of fenced down hosts onto live hosts of
 * the same shared pool. Each in a placement transaction of its own (a lost
 * claim is chosen again); one that finds no room stays waiting, said in its
 * reason, and is tried at the next round.
 */
export async function recoverInstances(db: Db, log: (m: string) => void = () => undefined): Promise<Recovered[]> {
  const waiting = await db
    .select({ id: instances.id, hostId: instances.hostId })
    .from(instances)
    .innerJoin(hosts, eq(hosts.id, instances.hostId))
    .where(and(eq(hosts.state, 'down'), isNotNull(hosts.fencedAt), isNotNull(hosts.sharedPool), eq(instances.state, 'error'), eq(instances.autoRecover, true), inArray(instances.recoverTo, RECOVERABLE)));
  const out: Recovered[] = [];
  for (const w of waiting) {
    try {
      const r = await placementTransaction(db, (tx) => recoverOne(tx, w.id, w.hostId!));
      if (r) {
        out.push(r);
        log(`[ha] ${r.instanceId} recovered from ${r.from} onto ${r.to} (${r.state})`);
      }
    } catch (err) {
      const message = err instanceof DomainError ? err.message : err instanceof Error ? err.message : String(err);
      log(`[ha] ${w.id} not recovered yet: ${message}`);
      await db
        .update(instances)
        .set({ stateReason: `Host down; waiting for room on another host to restart on: ${message}`.slice(0, 500) })
        .where(and(eq(instances.id, w.id), eq(instances.state, 'error')));
    }
  }
  return out;
}

async function recoverOne(tx: Tx, instanceId: string, downHostId: string): Promise<Recovered | null> {
  // The host's row first (as a returning host's server locks it): a host that came back keeps what is still on it.
  const [down] = await tx.select().from(hosts).where(and(eq(hosts.id, downHostId), eq(hosts.state, 'down'), isNotNull(hosts.fencedAt))).for('no key update');
  if (!down?.sharedPool) return null;
  const [inst] = await tx
    .select()
    .from(instances)
    .where(and(eq(instances.id, instanceId), eq(instances.hostId, downHostId), eq(instances.state, 'error'), inArray(instances.recoverTo, RECOVERABLE)))
    .for('update');
  if (!inst?.recoverTo) return null;
  const holdsCompute = inst.recoverTo !== 'suspended';
  const request = { vcpus: holdsCompute ? inst.vcpus : 0, memoryMiB: holdsCompute ? inst.memoryMiB : 0, diskGiB: inst.diskGiB };
  const avoid = [downHostId, ...(inst.spreadGroup ? await spreadGroupHosts(tx, inst.tenantId, inst.spreadGroup, inst.id) : []), ...(await hostsWithoutItsNetworks(tx, inst.id))];
  const target = await chooseHost(tx, request, undefined, avoid, { sharedPool: down.sharedPool });
  if (target instanceof DomainError) throw target;
  // Its new host's room is claimed as this commits (instances_claim_new_host).
  await tx.update(instances).set({ hostId: target.id, recoverTo: null }).where(eq(instances.id, inst.id));
  const to: InstanceState = inst.recoverTo === 'running' ? 'starting' : inst.recoverTo;
  await transition(tx, cirrus, inst.id, {
    from: ['error'],
    to,
    action: 'recovered',
    message: `Its host ${down.name} went down and was fenced; ${to === 'starting' ? 'it restarts' : `it is kept ${to}`} on ${target.name}, from its disk on the shared pool.`,
  });
  // The new host takes the guest over from the pool (and boots it, when it ran).
  await enqueueInstanceOp(tx, target.id, { instanceId: inst.id, op: to === 'starting' ? 'start' : 'adopt' });
  await recordAudit(tx, cirrus, { action: 'instances.recover', tenantId: inst.tenantId, target: { type: 'instance', id: inst.id }, detail: { from: down.id, to: target.id, state: to } });
  return { instanceId: inst.id, from: down.name, to: target.name, state: to };
}

/**
 * A host whose server runs again after it was declared down (its start, or a
 * heartbeat answered while down): enabled again, and the instances still on it
 * leave error as they were before (a guest still running is found running by
 * its reconciler). Returns how many instances came back; null when it was not down.
 */
export async function rejoinHost(db: DbOrTx, hostId: string): Promise<number | null> {
  return db.transaction(async (tx) => {
    const [h] = await tx.select().from(hosts).where(and(eq(hosts.id, hostId), eq(hosts.state, 'down'))).for('no key update');
    if (!h) return null;
    await tx.update(hosts).set({ state: 'enabled', downAt: null, fencedAt: null, heartbeatAt: sql`now()` }).where(eq(hosts.id, hostId));
    const rows = await tx
      .select({ id: instances.id, recoverTo: instances.recoverTo })
      .from(instances)
      .where(and(eq(instances.hostId, hostId), eq(instances.state, 'error'), isNotNull(instances.recoverTo)));
    for (const inst of rows) {
      // A saved state is still there; anything else was stopped by the outage.
      const to: InstanceState = inst.recoverTo === 'suspended' ? 'suspended' : 'stopped';
      await transition(tx, cirrus, inst.id, {
        from: ['error'],
        to,
        action: 'host-back',
        message: `Its host ${h.name} is back; it is ${to}${inst.recoverTo === 'running' ? ' (it stopped when its host went down: start it again)' : ''}.`,
      });
      await tx.update(instances).set({ recoverTo: null }).where(eq(instances.id, inst.id));
    }
    await recordAudit(tx, cirrus, { action: 'hosts.back', target: { type: 'host', id: h.id }, detail: { name: h.name, instances: rows.length } });
    return rows.length;
  });
}

/** The watch a control plane keeps: declare, fence, recover, every few seconds (each round one after the other). */
export function startHostWatch(db: Db, config: HaConfig, log: (m: string) => void, everyMs = 2_000): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let warned = false;
  const round = async () => {
    await declareDownHosts(db, config.downAfterSeconds, log);
    if (!config.fence && !warned) {
      const [waiting] = await db.select({ name: hosts.name }).from(hosts).where(eq(hosts.state, 'down')).limit(1);
      if (waiting) {
        warned = true;
        log(`[ha] host ${waiting.name} is down and no fence is configured (CIRRUS_FENCE_COMMAND): its instances wait for it to come back`);
      }
    }
    await fenceDownHosts(db, config.fence, log);
    await recoverInstances(db, log);
  };
  const tick = () => {
    void round()
      .catch((err) => log(`[ha] round failed: ${err instanceof Error ? err.message : err}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs).unref();
      });
  };
  timer = setTimeout(tick, everyMs).unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
