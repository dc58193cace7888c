// Port forwards: a host port, from the range an administrator set, that
// reaches `instance:port` over TCP. Counted in a quota and billed while they
// exist; removed with the instance (releaseInterfaces). Each change is one
// transaction (quota lock, then the instance) that enqueues the host's sync.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { recordAudit, type Actor } from '../audit';
import { resizeUsage } from '../billing/ledger';
import { publicHostName } from '../config/public-host';
import type { DbOrTx, Tx } from '../db/client';
import { violates } from '../db/pg-errors';
import { hosts, instances, networkInterfaces, portForwards } from '../db/schema';
import { listeningTcpPorts } from '../hypervisor/net/listening';
import { DomainError } from '../errors';
import { enqueueNetworkSync } from '../jobs';
import { checkQuota, lockTenantQuota, tenantUsage } from '../quotas';
import { getSetting } from '../settings';
import { networkCan } from './can';
import type { CreatePortForwardInput } from './validation';

const columns = {
  id: portForwards.id,
  instanceId: portForwards.instanceId,
  interfaceId: portForwards.interfaceId,
  hostPort: portForwards.hostPort,
  guestPort: portForwards.guestPort,
  protocol: portForwards.protocol,
  guestAddress: sql<string | null>`host(${networkInterfaces.address})`,
  position: networkInterfaces.position,
  createdAt: portForwards.createdAt,
};

/** A tenant's port forwards (of one instance, when given), with where to reach each. */
export async function listPortForwards(db: DbOrTx, tenantId: string, instanceId?: string) {
  const rows = await db
    .select({ ...columns, instanceName: instances.name })
    .from(portForwards)
    .innerJoin(networkInterfaces, eq(networkInterfaces.id, portForwards.interfaceId))
    .innerJoin(instances, eq(instances.id, portForwards.instanceId))
    .where(and(eq(portForwards.tenantId, tenantId), instanceId ? eq(portForwards.instanceId, instanceId) : undefined))
    .orderBy(asc(portForwards.hostPort));
  const host = publicHostName();
  return rows.map((r) => ({ ...r, host, endpoint: `${host}:${r.hostPort}` }));
}

/** Lock the tenant's live instance row (the caller already holds the quota lock). */
export async function lockLiveInstance(tx: Tx, tenantId: string, instanceId: string) {
  const [inst] = await tx
    .select({ id: instances.id, tenantId: instances.tenantId, name: instances.name, state: instances.state, hostId: instances.hostId })
    .from(instances)
    .where(and(eq(instances.id, instanceId), eq(instances.tenantId, tenantId)))
    .for('update');
  if (!inst) throw new DomainError('NOT_FOUND', `Instance ${instanceId} was not found.`);
  const why = networkCan.changeInstance(inst);
  if (why) throw new DomainError('INVALID_STATE', why);
  if (!inst.hostId) throw new DomainError('INVALID_STATE', `${inst.name} has no host yet.`);
  return { ...inst, hostId: inst.hostId };
}

/** Why the host gives its guests user-mode NICs (its note), or ''. */
export async function hostNote(tx: Tx, hostId: string): Promise<string> {
  const [h] = await tx.select({ note: hosts.networkNote }).from(hosts).where(eq(hosts.id, hostId));
  return h?.note ?? '';
}

async function countOf(tx: Tx, instanceId: string): Promise<number> {
  const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(portForwards).where(eq(portForwards.instanceId, instanceId));
  return row?.n ?? 0;
}

export async function createPortForward(db: DbOrTx, actor: Actor, tenantId: string, input: CreatePortForwardInput) {
  const range = await getSetting(db, 'portForwardRange');
  if (input.hostPort !== undefined && (input.hostPort < range.from || input.hostPort > range.to)) {
    throw new DomainError('INVALID_INPUT', `Host port ${input.hostPort} is outside the range for port forwards, ${range.from}–${range.to}.`, 'hostPort');
  }
  // Single host: the guests' host is this machine. (A control plane apart from its
  // compute nodes will ask the node instead.)
  const busy = listeningTcpPorts();
  if (input.hostPort !== undefined && busy.has(input.hostPort)) {
    throw new DomainError('CONFLICT', `Host port ${input.hostPort} is in use by a service on the host; choose another, or leave it empty to get a free one.`, 'hostPort');
  }
  try {
    return await db.transaction(async (tx) => {
      const limits = await lockTenantQuota(tx, tenantId);
      const inst = await lockLiveInstance(tx, tenantId, input.instanceId);
      const [nic] = await tx
        .select({ id: networkInterfaces.id, position: networkInterfaces.position, mode: networkInterfaces.mode })
        .from(networkInterfaces)
        .where(
          and(
            eq(networkInterfaces.instanceId, inst.id),
            isNull(networkInterfaces.releasedAt),
            input.interfaceId ? eq(networkInterfaces.id, input.interfaceId) : eq(networkInterfaces.position, 0),
          ),
        );
      if (!nic) throw new DomainError('NOT_FOUND', `${inst.name} has no such network interface.`, 'interfaceId');
      const cannot = networkCan.useNic(nic, 'Port forwards', inst.name);
      if (cannot) throw new DomainError('INVALID_STATE', `${cannot} ${await hostNote(tx, inst.hostId)}`.trim());
      checkQuota(limits, await tenantUsage(tx, tenantId), { portForwards: 1 }, 'this port forward', { portForwards: 'guestPort' });
      const [dup] = await tx
        .select({ hostPort: portForwards.hostPort })
        .from(portForwards)
        .where(and(eq(portForwards.interfaceId, nic.id), eq(portForwards.guestPort, input.guestPort)));
      if (dup) throw new DomainError('CONFLICT', `Port ${input.guestPort} of ${inst.name} is already forwarded from host port ${dup.hostPort}.`, 'guestPort');
      const hostPort = input.hostPort ?? (await freeHostPort(tx, inst.hostId, range, busy));
      if (hostPort === null) throw new DomainError('INSUFFICIENT_CAPACITY', `No host port is free in ${range.from}–${range.to}; delete a port forward or ask an administrator to widen the range.`, 'hostPort');
      const [taken] = await tx
        .select({ id: portForwards.id })
        .from(portForwards)
        .where(and(eq(portForwards.hostId, inst.hostId), eq(portForwards.hostPort, hostPort)));
      if (taken) throw new DomainError('CONFLICT', `Host port ${hostPort} is already taken; leave it empty to get a free one.`, 'hostPort');
      const [row] = await tx
        .insert(portForwards)
        .values({
          tenantId,
          instanceId: inst.id,
          interfaceId: nic.id,
          hostId: inst.hostId,
          hostPort,
          guestPort: input.guestPort,
          createdBy: actor.kind === 'user' ? actor.userId : null,
        })
        .returning({ id: portForwards.id });
      await resizeUsage(tx, inst, 'port_forward', await countOf(tx, inst.id));
      await enqueueNetworkSync(tx, inst.hostId);
      await recordAudit(tx, actor, {
        action: 'portForward.create',
        tenantId,
        target: { type: 'port_forward', id: row!.id },
        detail: { instanceId: inst.id, hostPort, guestPort: input.guestPort, interface: `eth${nic.position}` },
      });
      const [made] = (await listPortForwards(tx, tenantId, inst.id)).filter((f) => f.id === row!.id);
      return made!;
    });
  } catch (err) {
    // Two forwards racing for one port (another tenant's, or a burst): the unique index decides.
    if (violates(err, 'port_forwards_host_port_key')) {
      throw new DomainError('CONFLICT', `${input.hostPort ? `Host port ${input.hostPort}` : 'The free host port'} was taken a moment ago; try again.`, 'hostPort');
    }
    throw err;
  }
}

async function freeHostPort(tx: Tx, hostId: string, range: { from: number; to: number }, busy: Set<number>): Promise<number | null> {
  const { rows } = await tx.execute<{ port: number }>(sql`
    select p as port from generate_series(${range.from}::int, ${range.to}::int) p
    where not exists (select 1 from ${portForwards} f where f.host_id = ${hostId} and f.host_port = p)
      and p <> all(${`{${[...busy].join(',')}}`}::int[])
    order by p limit 1`);
  return rows[0]?.port ?? null;
}

export async function deletePortForward(db: DbOrTx, actor: Actor, tenantId: string, portForwardId: string) {
  await db.transaction(async (tx) => {
    const [pf] = await tx
      .delete(portForwards)
      .where(and(eq(portForwards.id, portForwardId), eq(portForwards.tenantId, tenantId)))
      .returning({ instanceId: portForwards.instanceId, hostId: portForwards.hostId, hostPort: portForwards.hostPort, guestPort: portForwards.guestPort });
    if (!pf) throw new DomainError('NOT_FOUND', 'That port forward was not found.');
    await resizeUsage(tx, { id: pf.instanceId, tenantId }, 'port_forward', await countOf(tx, pf.instanceId));
    await enqueueNetworkSync(tx, pf.hostId);
    await recordAudit(tx, actor, { action: 'portForward.delete', tenantId, target: { type: 'port_forward', id: portForwardId }, detail: pf });
  });
}
