// Durable jobs: graphile-worker (PostgreSQL-backed). Jobs are added with SQL
// inside the transaction of the state change that needs them (a transactional
// outbox: both commit or neither), run after commit by a worker in the custom
// server, retried with exponential backoff, one at a time per instance
// (queue_name), and only by the server of the host that runs the guest (the
// task name carries the host id).
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';

export type InstanceOp =
  | 'start'
  | 'stop'
  | 'force-stop'
  | 'reboot'
  | 'suspend'
  | 'resume'
  | 'snapshot-create'
  | 'snapshot-restore'
  | 'snapshot-delete'
  | 'image-create'
  | 'resize'
  | 'volume-attach'
  | 'volume-detach'
  | 'volume-create'
  | 'migrate'
  | 'adopt'
  | 'terminate';
/**
 * `snapshotId`: the snapshot a snapshot-* op is about; `imageId`: the image
 * image-create makes; `volumeId`: the volume a volume-* op plugs, unplugs or
 * (volume-create, in its source instance's queue) fills from a snapshot;
 * `migrationId`: the move a migrate op carries out (server/cluster/migrate.ts).
 */
export type InstanceOpPayload = { instanceId: string; op: InstanceOp; snapshotId?: string; imageId?: string; volumeId?: string; migrationId?: string };

export const MAX_ATTEMPTS = 4;

export const instanceOpTask = (hostId: string) => `instance-op:${hostId}`;
export const instanceQueue = (instanceId: string) => `instance:${instanceId}`;

export async function enqueueInstanceOp(db: DbOrTx, hostId: string, payload: InstanceOpPayload): Promise<void> {
  await db.execute(instanceOpJob(hostId, payload));
}

/** enqueueInstanceOp's statement, for a caller that runs it with its other writes in one statement (writeTogether). */
export const instanceOpJob = (hostId: string, payload: InstanceOpPayload): SQL => instanceOpJobs([{ hostId, payload }]);

/** Several ops queued by one statement (a batch of launches: one start each), each in its own instance's queue. */
export const instanceOpJobs = (jobs: { hostId: string; payload: InstanceOpPayload }[]): SQL =>
  sql`select ${sql.join(
    jobs.map(
      ({ hostId, payload }) =>
        sql`graphile_worker.add_job(${instanceOpTask(hostId)}, ${JSON.stringify(payload)}::json, queue_name => ${instanceQueue(payload.instanceId)}, max_attempts => ${MAX_ATTEMPTS})`,
    ),
    sql`, `,
  )}`;

/**
 * An op queued for `hostId` whose instance has moved to another host since
 * (a live migration ran before it in the instance's queue) is queued again
 * for that host, behind this one; true when it was. The op runs where the guest is.
 */
export async function forwardIfMoved(db: DbOrTx, hostId: string, payload: InstanceOpPayload): Promise<boolean> {
  const { rows } = await db.execute<{ host_id: string | null }>(sql`select host_id from instances where id = ${payload.instanceId}`);
  const now = rows[0]?.host_id;
  if (!now || now === hostId) return false;
  await enqueueInstanceOp(db, now, payload);
  return true;
}

/** Whether a job for this instance is waiting or running (the reconciler re-enqueues when none is). */
export async function hasPendingJob(db: DbOrTx, instanceId: string): Promise<boolean> {
  const { rows } = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from graphile_worker.jobs where queue_name = ${instanceQueue(instanceId)} and attempts < max_attempts`,
  );
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * Jobs locked by a server of this host that died (kill -9) stay locked; at
 * start, before our worker runs, release them. Only this host's tasks are
 * touched, and one server owns a host (the data directory lock).
 */
export async function releaseDeadWorkers(db: DbOrTx, hostId: string): Promise<number> {
  const { rows } = await db.execute<{ locked_by: string }>(
    sql`select distinct j.locked_by from graphile_worker._private_jobs j
        join graphile_worker._private_tasks t on t.id = j.task_id
        where j.locked_by is not null and t.identifier in (${instanceOpTask(hostId)}, ${imageOpTask(hostId)}, ${volumeOpTask(hostId)})`,
  );
  const ids = rows.map((r) => r.locked_by);
  if (ids.length) {
    await db.execute(
      sql`select graphile_worker.force_unlock_workers(array(select json_array_elements_text(${JSON.stringify(ids)}::json)))`,
    );
  }
  return ids.length;
}

// Captured images outlive the instance they came from: their deletion runs in
// a queue of their own, by the server of the host whose catalog holds them.
export const imageOpTask = (hostId: string) => `image-op:${hostId}`;
export type ImageOpPayload = { imageId: string; op: 'image-delete' };

export async function enqueueImageOp(db: DbOrTx, hostId: string, payload: ImageOpPayload): Promise<void> {
  await db.execute(
    sql`select graphile_worker.add_job(${imageOpTask(hostId)}, ${JSON.stringify(payload)}::json, queue_name => ${`image:${payload.imageId}`}, max_attempts => ${MAX_ATTEMPTS})`,
  );
}

// Volumes outlive instances: a blank one is made, and any is deleted, in a
// queue of its own, by the server of the host whose pool holds it.
export const volumeOpTask = (hostId: string) => `volume-op:${hostId}`;
export type VolumeOpPayload = { volumeId: string; op: 'volume-create' | 'volume-delete' };

export async function enqueueVolumeOp(db: DbOrTx, hostId: string, payload: VolumeOpPayload): Promise<void> {
  await db.execute(
    sql`select graphile_worker.add_job(${volumeOpTask(hostId)}, ${JSON.stringify(payload)}::json, queue_name => ${`volume:${payload.volumeId}`}, max_attempts => ${MAX_ATTEMPTS})`,
  );
}

// Host networks. A change that the host's data plane must follow (a NIC
// released, a port forward or rate changed, a network deleted) enqueues one
// sync of that host in its own transaction; the job key folds a burst of
// changes into one pending sync. Periodic sweeps make it certain anyway.
export const networkSyncTask = (hostId: string) => `network-sync:${hostId}`;

export async function enqueueNetworkSync(db: DbOrTx, hostId: string): Promise<void> {
  await db.execute(
    sql`select graphile_worker.add_job(${networkSyncTask(hostId)}, '{}'::json, job_key => ${networkSyncTask(hostId)}, job_key_mode => 'replace', max_attempts => 3)`,
  );
}
