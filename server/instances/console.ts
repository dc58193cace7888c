import { guestsOn } from '../cluster/guests';
import type { DbOrTx } from '../db/client';
import { isHypervisorError, type GuestInfo } from '../hypervisor';
import { getInstance } from './queries';

const SERIAL_TAIL_BYTES = 64 * 1024;

/**
 * The tail of the guest's serial output, from its host (here, or its node
 * through the node channel). Empty when the guest has none yet, is not on a
 * host, or its host cannot be reached right now: the page asks again.
 */
export async function serialLogOf(db: DbOrTx, tenantId: string, instanceId: string): Promise<{ text: string }> {
  const inst = await getInstance(db, tenantId, instanceId);
  // A guest that is not there (yet, or any more) has no log to show.
  if (!inst.hostId || inst.state === 'terminated' || inst.state === 'terminating') return { text: '' };
  const guests = await guestsOn(db, inst.hostId);
  if (!guests) return { text: '' };
  try {
    return { text: await guests.serialLog(instanceId, SERIAL_TAIL_BYTES) };
  } catch (err) {
    if (isHypervisorError(err, 'NOT_FOUND') || !isHypervisorError(err)) return { text: '' };
    throw err;
  }
}

/**
 * What the guest OS says about itself through its agent (OS name, host name,
 * addresses it has); null while it cannot answer: not running, no agent in
 * its image, still booting, or its host out of reach.
 */
export async function guestInfoOf(db: DbOrTx, tenantId: string, instanceId: string): Promise<GuestInfo | null> {
  const inst = await getInstance(db, tenantId, instanceId);
  if (!inst.hostId || inst.state !== 'running') return null;
  const guests = await guestsOn(db, inst.hostId);
  if (!guests) return null;
  try {
    return await guests.guestInfo(instanceId);
  } catch {
    // Not answering (the agent, or the node) is "no answer yet", as the page shows it.
    return null;
  }
}
