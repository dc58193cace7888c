// Bounds the driver enforces that the domain's forms and API say first.
// Pure (no imports): the browser's launch form reads them too.

/** User data handed to cloud-init: at most 16 KiB of UTF-8 (EC2's limit). */
export const MAX_USER_DATA_BYTES = 16 * 1024;

/** Volumes one guest may have attached at once (each takes one of its PCI slots). */
export const MAX_VOLUMES = 8;
