import path from 'node:path';

/**
 * Everything Cirrus writes at run time (database files, secrets, guest disks,
 * images) lives under one data directory: `CIRRUS_DATA_DIR`, else `./.data`.
 */
export function dataDir(): string {
  return path.resolve(process.env.CIRRUS_DATA_DIR ?? path.join(process.cwd(), '.data'));
}

/** A path inside the data directory; `parts` must be trusted constants or validated ids. */
export function dataPath(...parts: string[]): string {
  return path.join(dataDir(), ...parts);
}
