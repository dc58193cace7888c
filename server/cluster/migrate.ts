// A live migration carried out: a job of the source's node, in the instance's
// queue (nothing else runs on the instance meanwhile), talking to the target's
// node over the node channel. The target's side is `migrationTarget`.
//
// The move is recorded as it goes (instance_migrations.state) so that a retry
// after a crash (kill -9 of the node, of the control plane) converges:
//   queued → preparing → copying   nothing is decided: a retry undoes what
//                                  there is on the target and the guest goes
//                                  on on its source; the move fails, saying why
//   switching                      the source has stopped with nothing left to
//                                  send: the target is told to run it, then the
//                                  database says it is there. A retry asks the
//                                  target: running (or ready) → finish there;
//                                  gone → run the source again; unreachable →
//                                  try again later, never both.
//   completed | failed
// The target never removes a guest the database says is its own (the abort's
// guard), and the source's copy goes only once the database says it moved.
import fs from 'node:fs';
import net from 'node:net';
import { Duplex, PassThrough, Writable } from 'node:stream';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import type { Db } from '../db/client';
import { hosts, instanceMigrations, instances, networkInterfaces } from '../db/schema';
import { HypervisorError, isHypervisorError, type HypervisorDriver, type IncomingGuest, type MigrationProgress } from '../hypervisor';
import { tapName } from '../hypervisor/net/names';
import { recordInstanceEvent } from '../instances/transition';
import { callNode, NodeError, openNodeStream, sendFileToNode } from './channel';
import type { MigrationTargetService } from './guests';
import type { MigrationRow } from './migrations';

const cirrus = systemActor('migration');

// ---------------------------------------------------------------- the target's side

/** The target host's tenant networks: its tag (null: it builds none) and a sync of its data plane. */
export type TargetNetwork = { tag: string | null; sync: () => Promise<void> };

/**
 * What a node does for moves to it: each step checks the database first, so a
 * node only ever receives an instance that is moving to it, and only ever
 * removes one that is not its own.
 */
export function migrationTarget(db: Db, hostId: string, driver: HypervisorDriver, network?: TargetNetwork): MigrationTargetService {
  const need = <T>(fn: T | undefined, what: string): T => {
    if (!fn) throw new NodeError('INVALID', `this host's driver cannot ${what}`);
    return fn;
  };
  const placement = async (instanceId: string) => {
    const [row] = await db.select({ hostId: instances.hostId, migrationHostId: instances.migrationHostId }).from(instances).where(eq(instances.id, instanceId));
    return row ?? null;
  };
  const movingHere = async (instanceId: string) => {
    const p = await placement(instanceId);
    if (p?.migrationHostId !== hostId) throw new NodeError('INVALID_STATE', `instance ${instanceId} is not moving to this host`);
  };
  /** The guest as this host makes it: its NICs on this host's taps (their names are per host), as its NIC rows say. */
  const asHere = async (instanceId: string, guest: unknown): Promise<IncomingGuest> => {
    const g = guest as IncomingGuest;
    if (g?.spec?.id !== instanceId) throw new NodeError('INVALID', 'the guest sent is not the instance named');
    const rows = await db
      .select({ id: networkInterfaces.id, mac: networkInterfaces.mac, mode: networkInterfaces.mode })
      .from(networkInterfaces)
      .where(and(eq(networkInterfaces.instanceId, instanceId), isNull(networkInterfaces.releasedAt)))
      .orderBy(networkInterfaces.position);
    if (rows.length === 0 || rows.length !== g.spec.nics?.length) return g;
    const tag = network?.tag ?? null;
    if (rows.some((r) => r.mode === 'bridged') && !tag) throw new NodeError('INVALID_STATE', `instance ${instanceId} is on tenant networks, and this host builds none`);
    return { ...g, spec: { ...g.spec, nics: rows.map((r) => ({ mac: r.mac, tap: r.mode === 'bridged' ? tapName(tag!, r.id) : null })) } };
  };
  return {
    prepare: async (instanceId, guest) => {
      await movingHere(instanceId);
      const g = await asHere(instanceId, guest);
      await need(driver.prepareIncoming?.bind(driver), 'receive guests')(g);
      // Its taps join their bridges (and the networks their other hosts) before it runs here.
      await network?.sync().catch(() => undefined);
    },
    open: async (instanceId, kind) => {
      await movingHere(instanceId);
      const at = await need(driver.incomingEndpoints?.bind(driver), 'receive guests')(instanceId);
      const socket = net.connect(kind === 'disk' ? at.disk : at.state);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.pause();
      return socket;
    },
    finish: async (instanceId) => {
      const p = await placement(instanceId);
      // Moving here, or here already (a finish asked again after the switch was recorded).
      if (p?.migrationHostId !== hostId && p?.hostId !== hostId) throw new NodeError('INVALID_STATE', `instance ${instanceId} is not moving to this host`);
      await need(driver.finishIncoming?.bind(driver), 'receive guests')(instanceId);
    },
    receive: async (instanceId, guest, bytes) => {
      await movingHere(instanceId);
      const g = await asHere(instanceId, guest);
      const receive = need(driver.receiveGuest?.bind(driver), 'receive guests');
      // What comes in goes to the driver; one line goes back once it has made the guest (or why it did not).
      const input = new PassThrough();
      const output = new PassThrough();
      // Exactly `bytes` go to the driver, then its input ends (the connection stays open for the answer).
      let got = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          got += chunk.length;
          if (got > bytes) return done(new Error(`more than the ${bytes} bytes announced`));
          input.write(chunk, () => done());
          if (got === bytes) input.end();
        },
      });
      receive(g, input).then(
        () => output.end(`${JSON.stringify({ ok: true })}\n`),
        (err: unknown) => output.end(`${JSON.stringify({ ok: false, code: isHypervisorError(err) ? err.code : 'INTERNAL', message: errorText(err) })}\n`),
      );
      return Duplex.from({ writable: sink, readable: output });
    },
    abort: async (instanceId) => {
      // Never a guest the database says runs here: that would be the only copy.
      const p = await placement(instanceId);
      if (p?.hostId === hostId) throw new NodeError('INVALID_STATE', `instance ${instanceId} runs on this host: it is not removed`);
      await driver.destroy(instanceId);
    },
    status: async (instanceId) => {
      try {
        return (await driver.status(instanceId)).state;
      } catch (err) {
        if (isHypervisorError(err, 'NOT_FOUND')) return 'absent';
        throw err;
      }
    },
  };
}

// ---------------------------------------------------------------- the source's side

export type MigrateDeps = { db: Db; driver: HypervisorDriver; hostId: string; key: Buffer; log: (m: string) => void };

const setState = (db: Db, id: string, state: MigrationRow['state'], more: Partial<Pick<MigrationRow, 'progress' | 'error' | 'downtimeMs'>> = {}) =>
  db.update(instanceMigrations).set({ state, ...more }).where(eq(instanceMigrations.id, id));

/**
 * How far the copy has come, only while it is copying: a write still in flight
 * when the move went on (switching, completed, failed) changes nothing, and
 * never puts an ended move back among those under way.
 */
const setProgress = (db: Db, id: string, progress: MigrationProgress) =>
  db.update(instanceMigrations).set({ progress }).where(and(eq(instanceMigrations.id, id), eq(instanceMigrations.state, 'copying')));

/** Carry out move `migrationId` of `instanceId` from this host (the op's payload), or go on with it after a crash. */
export async function runMigration(deps: MigrateDeps, instanceId: string, migrationId: string): Promise<void> {
  const { db, driver, hostId } = deps;
  const [m] = await db.select().from(instanceMigrations).where(eq(instanceMigrations.id, migrationId));
  if (!m || m.instanceId !== instanceId || m.state === 'completed' || m.state === 'failed') return;
  if (m.sourceHostId !== hostId) throw new Error(`move ${migrationId} is not from this host`);
  const [target] = await db.select({ name: hosts.name, address: hosts.nodeAddress }).from(hosts).where(eq(hosts.id, m.targetHostId));
  const [source] = await db.select({ name: hosts.name }).from(hosts).where(eq(hosts.id, hostId));
  if (!target?.address) return fail(deps, m, `host ${target?.name ?? m.targetHostId} has no node channel`);
  const node = (req: Parameters<typeof callNode>[2], timeoutMs?: number) => callNode(target.address!, deps.key, req, timeoutMs);

  if (m.state === 'switching') return settleSwitch(deps, m, { node, targetName: target.name, sourceName: source?.name ?? hostId });
  if (m.state !== 'queued') {
    // A move cut off before its switch (this node or the target restarted): nothing of it is decided; undo and say so.
    await driver.abortMigrationOut?.(instanceId).catch(() => undefined);
    await node({ op: 'migrate-abort', instanceId }).catch(() => undefined);
    return fail(deps, m, 'it was interrupted (a node restarted during the copy); the instance runs on its host as before');
  }

  const [inst] = await db.select({ state: instances.state, hostId: instances.hostId }).from(instances).where(eq(instances.id, instanceId));
  if (m.kind === 'cold') return coldMove(deps, m, { targetAddress: target.address, targetName: target.name, sourceName: source?.name ?? hostId, state: inst?.state ?? null });
  if (inst?.state !== 'running' || inst.hostId !== hostId) return fail(deps, m, `the instance is ${inst?.state ?? 'gone'}, not running here`);
  if (!driver.migrationSource || !driver.migrateOut) return fail(deps, m, `this host's driver (${driver.name}) cannot move guests`);

  let report: Awaited<ReturnType<NonNullable<HypervisorDriver['migrateOut']>>>;
  // An admin's cancel (cancelMigration) is looked for every half second until the switch.
  const cancel = new AbortController();
  let cancelledBy: string | null = null;
  const watch = setInterval(() => {
    void cancelAsked(db, m.id)
      .then((by) => {
        if (by === null || cancel.signal.aborted) return;
        cancelledBy = by;
        cancel.abort();
      })
      .catch(() => undefined);
  }, 500);
  try {
    await setState(db, m.id, 'preparing');
    const guest = await driver.migrationSource(instanceId);
    await node({ op: 'migrate-prepare', instanceId, guest }, 120_000);
    cancelledBy ??= await cancelAsked(db, m.id);
    if (cancelledBy !== null) throw new Error('the move was cancelled');
    await setState(db, m.id, 'copying');
    let last = 0;
    const progress = (p: MigrationProgress) => {
      const now = Date.now();
      if (now - last < 500 && p.doneBytes < p.totalBytes) return;
      last = now;
      void setProgress(db, m.id, p).catch(() => undefined);
    };
    report = await driver.migrateOut(instanceId, (kind) => openNodeStream(target.address!, deps.key, { op: 'migrate-stream', instanceId, kind }), progress, cancel.signal);
  } catch (err) {
    // The source runs on (migrateOut saw to that); what the target made goes.
    await node({ op: 'migrate-abort', instanceId }).catch(() => undefined);
    return fail(deps, m, cancelledBy !== null ? `${cancelledBy} cancelled it; the instance runs on ${source?.name ?? hostId} as before` : errorText(err));
  } finally {
    clearInterval(watch);
  }
  // Decided: the source has stopped with everything on the target. Written before the target is told to run it.
  // QEMU's part of the downtime is kept with it: a switch finished after a crash reports at least that.
  await setState(db, m.id, 'switching', { progress: null, downtimeMs: report.downtimeMs });
  const switchStarted = Date.now();
  await settleSwitch(deps, { ...m, state: 'switching' }, { node, targetName: target.name, sourceName: source?.name ?? hostId }, { report, switchStarted });
}

/**
 * A stopped instance's move: its disk copied whole to the target, which makes
 * the guest of it (stopped); then the database says it is there and the
 * source's copy goes. Nothing runs it meanwhile: a start asked for during the
 * move waits in its queue and runs on the target (forwardIfMoved).
 */
async function coldMove(deps: MigrateDeps, m: MigrationRow, ctx: { targetAddress: string; targetName: string; sourceName: string; state: string | null }): Promise<void> {
  const { db, driver, hostId } = deps;
  const id = m.instanceId;
  if (!driver.exportForMove) return fail(deps, m, `this host's driver (${driver.name}) cannot move guests`);
  let file: string | null = null;
  try {
    await setState(db, m.id, 'preparing');
    const [inst] = await db.select({ state: instances.state, hostId: instances.hostId }).from(instances).where(eq(instances.id, id));
    if (inst?.hostId !== hostId || !['stopped', 'starting'].includes(inst.state)) return fail(deps, m, `the instance is ${inst?.state ?? 'gone'}, not stopped here`);
    const out = await driver.exportForMove(id);
    file = out.file;
    await setState(db, m.id, 'copying');
    const total = fs.statSync(file).size;
    let last = 0;
    await sendFileToNode(ctx.targetAddress, deps.key, { op: 'move-in', instanceId: id, guest: out.guest }, file, (done) => {
      if (Date.now() - last < 500 && done < total) return;
      last = Date.now();
      void setProgress(db, m.id, { phase: 'disk', doneBytes: done, totalBytes: total }).catch(() => undefined);
    });
    // Cancelled while its disk was on the way: the target's copy goes, and it stays here.
    const by = await cancelAsked(db, m.id);
    if (by !== null) throw new Error(`${by} cancelled it; the instance stays on ${ctx.sourceName}`);
  } catch (err) {
    await callNode(ctx.targetAddress, deps.key, { op: 'migrate-abort', instanceId: id }).catch(() => undefined);
    return fail(deps, m, errorText(err));
  } finally {
    if (file) fs.rmSync(file, { force: true });
  }
  await db.transaction(async (tx) => {
    await tx.update(instances).set({ hostId: m.targetHostId, migrationHostId: null }).where(and(eq(instances.id, id), eq(instances.hostId, m.sourceHostId)));
    await tx.update(instanceMigrations).set({ state: 'completed', progress: null, finishedAt: sql`now()` }).where(eq(instanceMigrations.id, m.id));
    await recordInstanceEvent(tx, cirrus, { instanceId: id, tenantId: m.tenantId, action: 'migrated', message: `Moved, stopped, from host ${ctx.sourceName} to ${ctx.targetName} (its disk copied whole).` });
  });
  await driver.destroy(id).catch((err: unknown) => deps.log(`[migrate] ${id}: its old copy stays until the reconciler removes it: ${errorText(err)}`));
  deps.log(`[migrate] ${id} moved (stopped) to ${ctx.targetName}`);
}

/**
 * The switch: the target runs the guest, the database says it is there, the
 * source's copy goes. Also how a retry finishes one a crash interrupted.
 */
async function settleSwitch(
  deps: MigrateDeps,
  m: MigrationRow,
  ctx: { node: (req: Parameters<typeof callNode>[2], timeoutMs?: number) => Promise<unknown>; targetName: string; sourceName: string },
  fresh?: { report: { downtimeMs: number; diskBytes: number; stateBytes: number }; switchStarted: number },
): Promise<void> {
  const { db, driver } = deps;
  const id = m.instanceId;
  if (!fresh) {
    // After a crash: what the target has decides (an unreachable target throws, and the job tries again later).
    const there = (await ctx.node({ op: 'migrate-status', instanceId: id })) as string;
    if (there === 'absent' || there === 'stopped') {
      await driver.abortMigrationOut?.(id).catch(() => undefined);
      return fail(deps, m, `host ${ctx.targetName} lost the guest before it ran there; it runs on ${ctx.sourceName} as before`);
    }
  }
  await ctx.node({ op: 'migrate-finish', instanceId: id }, 60_000);
  const downtimeMs = fresh ? fresh.report.downtimeMs + (Date.now() - fresh.switchStarted) : m.downtimeMs;
  await db.transaction(async (tx) => {
    await tx.update(instances).set({ hostId: m.targetHostId, migrationHostId: null }).where(and(eq(instances.id, id), eq(instances.hostId, m.sourceHostId)));
    await tx.update(instanceMigrations).set({ state: 'completed', progress: null, downtimeMs, finishedAt: sql`now()` }).where(eq(instanceMigrations.id, m.id));
    await recordInstanceEvent(tx, cirrus, {
      instanceId: id,
      tenantId: m.tenantId,
      action: 'migrated',
      message:
        `Moved live from host ${ctx.sourceName} to ${ctx.targetName}` +
        (fresh
          ? `; the guest was paused for ${downtimeMs} ms (${mib(fresh.report.diskBytes)} of disk and ${mib(fresh.report.stateBytes)} of memory copied).`
          : `; the switch was finished after a restart, and the guest was paused for at least ${downtimeMs ?? 0} ms.`),
    });
  });
  // Only now is the source's copy not the instance: it goes (the reconciler would remove it too).
  await driver.destroy(id).catch((err: unknown) => deps.log(`[migrate] ${id}: its old copy stays until the reconciler removes it: ${errorText(err)}`));
  deps.log(`[migrate] ${id} moved to ${ctx.targetName}${downtimeMs !== null ? ` (downtime ${downtimeMs} ms)` : ''}`);
}

/** Who asked to cancel the move (null: nobody). */
async function cancelAsked(db: Db, migrationId: string): Promise<string | null> {
  const [row] = await db.select({ at: instanceMigrations.cancelRequestedAt, by: instanceMigrations.cancelledBy }).from(instanceMigrations).where(eq(instanceMigrations.id, migrationId));
  return row?.at ? (row.by ?? 'An administrator') : null;
}

async function fail(deps: MigrateDeps, m: MigrationRow, why: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await tx.update(instances).set({ migrationHostId: null }).where(and(eq(instances.id, m.instanceId), eq(instances.migrationHostId, m.targetHostId)));
    await tx.update(instanceMigrations).set({ state: 'failed', progress: null, error: why.slice(0, 500), finishedAt: sql`now()` }).where(eq(instanceMigrations.id, m.id));
    await recordInstanceEvent(tx, cirrus, { instanceId: m.instanceId, tenantId: m.tenantId, action: 'migration-failed', message: `The move to another host failed: ${why}`.slice(0, 500) });
  });
  deps.log(`[migrate] ${m.instanceId}: move failed: ${why}`);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const errorText = (err: unknown) => (err instanceof HypervisorError || err instanceof NodeError || err instanceof Error ? err.message : String(err));
