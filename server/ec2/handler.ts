// The EC2 Query API endpoint: one POST (or GET) per action, signed with
// Signature Version 4 by an access key. 1. read the request · 2. authenticate
// · 3. authorize and run the action · 4. answer in EC2's XML.
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { recordAudit } from '../audit';
import { processMetrics } from '../metrics/registry';
import { readCapped } from '../http/body';
import { getDb, type Db } from '../db/client';
import { roleAtLeast } from '../tenants/roles';
import { resolveAccessKey } from './access-keys';
import { REGION, type Action, type Call } from './call';
import * as catalog from './catalog';
import { Ec2Error, fromDomain } from './errors';
import * as instanceActions from './instances';
import { Params } from './params';
import * as storage from './volumes';
import { parseAuthorization, signatureMatches, signingTime, type ReceivedRequest } from './sigv4';
import { errorResponse, response } from './xml';

const MAX_BODY = 1024 * 1024;

export const actions: Record<string, Action> = {
  DescribeRegions: catalog.DescribeRegions,
  DescribeAvailabilityZones: catalog.DescribeAvailabilityZones,
  DescribeImages: catalog.DescribeImages,
  DescribeInstanceTypes: catalog.DescribeInstanceTypes,
  DescribeKeyPairs: catalog.DescribeKeyPairs,
  CreateKeyPair: catalog.CreateKeyPair,
  ImportKeyPair: catalog.ImportKeyPair,
  DeleteKeyPair: catalog.DeleteKeyPair,
  RunInstances: instanceActions.RunInstances,
  DescribeInstances: instanceActions.DescribeInstances,
  DescribeInstanceStatus: instanceActions.DescribeInstanceStatus,
  StartInstances: instanceActions.StartInstances,
  StopInstances: instanceActions.StopInstances,
  RebootInstances: instanceActions.RebootInstances,
  TerminateInstances: instanceActions.TerminateInstances,
  CreateTags: instanceActions.CreateTags,
  DeleteTags: instanceActions.DeleteTags,
  DescribeTags: instanceActions.DescribeTags,
  DescribeVolumes: storage.DescribeVolumes,
  CreateVolume: storage.CreateVolume,
  AttachVolume: storage.AttachVolume,
  DetachVolume: storage.DetachVolume,
  DeleteVolume: storage.DeleteVolume,
  DescribeSnapshots: storage.DescribeSnapshots,
  CreateSnapshots: storage.CreateSnapshots,
  DeleteSnapshot: storage.DeleteSnapshot,
  DescribeVpcs: storage.DescribeVpcs,
  DescribeSubnets: storage.DescribeSubnets,
  CreateVpc: storage.CreateVpc,
  DeleteVpc: storage.DeleteVpc,
};

const xml = (status: number, body: string) => new Response(body, { status, headers: { 'content-type': 'text/xml; charset=UTF-8' } });

/** One EC2 request, answered, and observed in /metrics by its action (one Cirrus knows, else "other") and status. */
export async function handleEc2(req: Request, db: Db = getDb()): Promise<Response> {
  const started = performance.now();
  const seen = { action: '' };
  const res = await answer(req, db, seen);
  processMetrics().ec2RequestDuration.observe({ action: Object.hasOwn(actions, seen.action) ? seen.action : 'other', code: String(res.status) }, (performance.now() - started) / 1000);
  return res;
}

async function answer(req: Request, db: Db, seen: { action: string }): Promise<Response> {
  const requestId = crypto.randomUUID();
  let call: Call | null = null;
  let actionName = '';
  try {
    // 1. The request.
    if (req.method !== 'POST' && req.method !== 'GET') throw new Ec2Error('InvalidAction', 'The EC2 API takes POST (form-encoded) or GET requests.');
    const body = req.method === 'POST' ? await readCapped(req, MAX_BODY) : '';
    if (body === null) throw new Ec2Error('InvalidParameterValue', 'The request body is larger than 1 MiB.');
    const url = new URL(req.url);
    const form = new URLSearchParams(url.search);
    if (body) {
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers.get('content-type') ?? '')) {
        throw new Ec2Error('InvalidParameterValue', 'Send the parameters form-encoded (Content-Type: application/x-www-form-urlencoded).');
      }
      for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
    }
    const params = Params.from(form);
    actionName = params.required('Action');
    seen.action = actionName;
    const received: ReceivedRequest = { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body };

    // 2. Who signed it.
    const auth = parseAuthorization(req.headers.get('authorization'));
    const region = REGION();
    if (auth.region !== region) throw new Ec2Error('AuthFailure', `The credential is scoped to the region "${auth.region.slice(0, 40)}"; this endpoint's region is "${region}".`);
    const [clock] = (await db.execute<{ now: Date }>(sql`select now() as now`)).rows;
    const at = signingTime(received, auth, new Date(clock!.now));
    const holder = await resolveAccessKey(db, auth.accessKeyId);
    if (!holder || !(await signatureMatches(received, auth, holder.secret, at))) {
      throw new Ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials: the access key is unknown or revoked, or the signature is not the one its secret makes.');
    }
    await holder.markUsed();

    // 3. What it may do.
    const action = actions[actionName];
    if (!action) throw new Ec2Error('InvalidAction', `The action ${actionName.slice(0, 60)} is not valid for this web service.`);
    call = {
      db,
      actor: { kind: 'user', userId: holder.user.id, email: holder.user.email, isAdmin: holder.user.isAdmin, requestId },
      tenant: { id: holder.tenant.id, slug: holder.tenant.slug, name: holder.tenant.name },
      role: holder.role,
      params,
      requestId,
      region,
    };
    if (!roleAtLeast(holder.role, action.minRole)) {
      throw new Ec2Error('UnauthorizedOperation', `You are not authorized to perform this operation: ${actionName} needs the ${action.minRole} role in ${holder.tenant.name}; you are a ${holder.role}.`);
    }
    if (action.minRole !== 'viewer' && holder.tenant.suspendedAt) {
      throw new Ec2Error('UnauthorizedOperation', `${holder.tenant.name} is suspended${holder.tenant.suspendReason ? `: ${holder.tenant.suspendReason}` : ''}. Nothing can be changed until an administrator reactivates it.`);
    }
    if (params.bool('DryRun')) throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);

    // 4. The answer.
    return xml(200, response(actionName, requestId, await action.run(call)));
  } catch (caught) {
    const err = fromDomain(caught);
    if (!(err instanceof Ec2Error)) console.error(`[ec2] request ${requestId} (${actionName || 'no action'}):`, err);
    const e = err instanceof Ec2Error ? err : new Ec2Error('InternalError', `An internal error has occurred (request ${requestId}).`);
    // A refused change is audited, as tRPC audits its refusals.
    if (call && actions[actionName]?.minRole !== 'viewer' && e.code !== 'DryRunOperation') {
      await recordAudit(db, call.actor, { action: `ec2.${actionName}`, tenantId: call.tenant.id, outcome: 'failure', detail: { code: e.code, message: e.message.slice(0, 300) } }).catch(
        (a) => console.error('[audit] could not record a failure:', a),
      );
    }
    return xml(e.status, errorResponse(e.code, e.message, requestId));
  }
}
