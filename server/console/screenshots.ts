import { getInstance } from '../instances/queries';
import type { DbOrTx } from '../db/client';
import { DomainError } from '../errors';
import { getCompute } from '../runtime/compute';

// A few seconds of cache: a list of thumbnails refreshing for several viewers
// asks QEMU once per instance, not once per viewer.
const TTL_MS = 3_000;
const cache = new Map<string, { at: number; png: Buffer }>();

/** The instance's current screen as PNG, for thumbnails. Tenant-scoped; running instances only. */
export async function instanceScreenshot(db: DbOrTx, tenantId: string, instanceId: string): Promise<Buffer> {
  const inst = await getInstance(db, tenantId, instanceId);
  if (inst.state !== 'running') throw new DomainError('INVALID_STATE', `${inst.name} is ${inst.state}; its screen shows only while it runs.`);
  const compute = getCompute();
  if (!compute || compute.hostId !== inst.hostId) throw new DomainError('INVALID_STATE', 'This instance’s host is not reachable from this server.');
  const hit = cache.get(instanceId);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.png;
  const png = await compute.driver.screenshot(instanceId);
  cache.set(instanceId, { at: Date.now(), png });
  for (const [id, v] of cache) if (Date.now() - v.at > 60_000) cache.delete(id);
  return png;
}
