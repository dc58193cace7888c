import type { DbOrTx } from '../db/client';
import { isHypervisorError, type GuestInfo } from '../hypervisor';
import { getCompute } from '../runtime/compute';
import { getInstance } from './queries';

const SERIAL_TAIL_BYTES = 64 * 1024;

/** The tail of the guest's serial output (empty when the guest has none yet or is not on this host). */
export async function serialLogOf(db: DbOrTx, tenantId: string, instanceId: string): Promise<{ text: string }> {
  const inst = await getInstance(db, tenantId, instanceId);
  const compute = getCompute();
  // A guest that is not there (yet, or any more) has no log to show.
  if (!compute || inst.hostId !== compute.hostId || inst.state === 'terminated' || inst.state === 'terminating') return { text: '' };
  try {
    return { text: await compute.driver.serialLog(instanceId, SERIAL_TAIL_BYTES) };
  } catch (err) {
    if (isHypervisorError(err, 'NOT_FOUND')) return { text: '' };
    throw err;
  }
}

/**
 * What the guest OS says about itself through its agent (OS name, host name,
 * addresses it has); null while it cannot answer: not running, no agent in
 * its image, still booting, or not on this host.
 */
export async function guestInfoOf(db: DbOrTx, tenantId: string, instanceId: string): Promise<GuestInfo | null> {
  const inst = await getInstance(db, tenantId, instanceId);
  const compute = getCompute();
  if (!compute?.driver.guestInfo || inst.hostId !== compute.hostId || inst.state !== 'running') return null;
  try {
    return await compute.driver.guestInfo(instanceId);
  } catch (err) {
    if (isHypervisorError(err)) return null;
    throw err;
  }
}
