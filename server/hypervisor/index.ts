// server/hypervisor: the boundary between Cirrus and whatever runs guests.
// Use `openHypervisor()` from the app; backends live in their own folders.
import { QemuDriver, type QemuDriverOptions } from './qemu/driver';

export * from './types';
export { validateGuestSpec, validateGuestId, macAddress, GUEST_ID_PATTERN, SPEC_LIMITS } from './spec';
export { ImageCatalog, DEFAULT_IMAGE_ID, defaultImagesDir, imageFootprint, type GuestImage } from './images/catalog';
export { QemuDriver, type QemuDriverOptions } from './qemu/driver';
export { FakeHypervisor, type FakeDriverOptions } from './fake/driver';

/** The default driver (QEMU on this host), with its guests re-adopted. */
export function openHypervisor(opts: QemuDriverOptions = {}): Promise<QemuDriver> {
  return QemuDriver.open(opts);
}
