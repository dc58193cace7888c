import { guestsOn } from '../cluster/guests';
import { getInstance } from '../instances/queries';
import type { DbOrTx } from '../db/client';
import { DomainError } from '../errors';
import { isHypervisorError } from '../hypervisor';

// A few seconds of cache: a list of thumbnails refreshing for several viewers
// asks QEMU once per instance, not once per viewer.
const TTL_MS = 3_000;
const cache = new Map<string, { at: number; png: Buffer }>();

/** The instance's current screen as PNG, for thumbnails, from its host wherever it is. Tenant-scoped; running instances only. */
export async function instanceScreenshot(db: DbOrTx, tenantId: string, instanceId: string): Promise<Buffer> {
  const inst = await getInstance(db, tenantId, instanceId);
  if (inst.state !== 'running') throw new DomainError('INVALID_STATE', `${inst.name} is ${inst.state}; its screen shows only while it runs.`);
  const hit = cache.get(instanceId);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.png;
  const guests = inst.hostId ? await guestsOn(db, inst.hostId) : null;
  if (!guests) throw new DomainError('INVALID_STATE', 'This instance’s host is not reachable from this server.');
  let png: Buffer;
  try {
    png = await guests.screenshot(instanceId);
  } catch (err) {
    if (isHypervisorError(err)) throw err;
    throw new DomainError('INVALID_STATE', 'This instance’s host is not reachable right now. Try again in a moment.');
  }
  cache.set(instanceId, { at: Date.now(), png });
  for (const [id, v] of cache) if (Date.now() - v.at > 60_000) cache.delete(id);
  return png;
}
