// Launches of one tenant asked at the same time are decided together. They
// would take the tenant's quota lock one after another anyway; here the ones
// that arrive while a transaction of that tenant's launches runs wait for it
// in this process, then go as one batch (launchInstances): one transaction,
// one read of the image, budget, hosts and usage, and a few statements for
// all their rows, instead of a dozen round trips each. A lone launch goes at
// once, as a batch of one: nothing waits for a timer. Different tenants'
// batches run side by side.
import { is } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Actor } from '../audit';
import type { DbOrTx } from '../db/client';
import { DomainError } from '../errors';
import { launchInstance, launchInstances, type LaunchRequest } from './launch';
import type { Instance } from './queries';
import type { LaunchInput } from './validation';

/** At most this many launches in one transaction (its statements stay well under PostgreSQL's 65,535 parameters). */
export const MAX_LAUNCH_BATCH = 100;

type Waiting = LaunchRequest & { resolve: (i: Instance) => void; reject: (e: unknown) => void };
type Queue = { waiting: Waiting[]; running: boolean };

// Per database handle (tests run several), per tenant.
const queues = new WeakMap<object, Map<string, Queue>>();

/** Launch as launchInstance does, decided with the tenant's other launches asked meanwhile. */
export function launchQueued(db: DbOrTx, actor: Actor, tenantId: string, input: LaunchInput): Promise<Instance> {
  // Inside a caller's transaction, it is the caller's: decided there, alone.
  if (is(db, PgTransaction)) return launchInstance(db, actor, tenantId, input);
  let byTenant = queues.get(db);
  if (!byTenant) queues.set(db, (byTenant = new Map()));
  let queue = byTenant.get(tenantId);
  if (!queue) byTenant.set(tenantId, (queue = { waiting: [], running: false }));
  const q = queue;
  const answer = new Promise<Instance>((resolve, reject) => q.waiting.push({ actor, input, resolve, reject }));
  if (!q.running) void drain(db, byTenant, tenantId, q);
  return answer;
}

async function drain(db: DbOrTx, byTenant: Map<string, Queue>, tenantId: string, q: Queue): Promise<void> {
  q.running = true;
  try {
    while (q.waiting.length) {
      const batch = q.waiting.splice(0, MAX_LAUNCH_BATCH);
      await decide(db, tenantId, batch);
    }
  } finally {
    q.running = false;
    byTenant.delete(tenantId);
  }
}

async function decide(db: DbOrTx, tenantId: string, batch: Waiting[]): Promise<void> {
  let answers: (Instance | DomainError)[];
  try {
    answers = await launchInstances(db, tenantId, batch);
  } catch (e) {
    // A refusal of the whole transaction (its placement lost, again and again) is every launch's answer. A fault is
    // found again with each launch alone, so that one request that trips it fails by itself and the others go on.
    if (batch.length === 1 || e instanceof DomainError) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const w of batch) await decide(db, tenantId, [w]);
    return;
  }
  batch.forEach((w, i) => {
    const a = answers[i]!;
    if (a instanceof DomainError) w.reject(a);
    else w.resolve(a);
  });
}
