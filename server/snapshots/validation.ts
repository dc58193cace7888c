// Snapshot input: plain data and zod schemas, shared by the server and the form.
import { z } from 'zod';

export const SNAPSHOT_ID_PATTERN = /^snap-[0-9a-f]{17}$/;
export const snapshotIdSchema = z.string().regex(SNAPSHOT_ID_PATTERN, 'That is not a snapshot id.');

export const snapshotNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the snapshot a name.')
  .max(64, 'A snapshot name is at most 64 characters.')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._:-]*$/u, 'Use letters, digits, spaces and . _ : - (starting with a letter or digit).');

export const createSnapshotInput = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]{17}$/, 'That is not an instance id.'),
  name: snapshotNameSchema,
  withMemory: z.boolean().default(false),
});
export type CreateSnapshotInput = z.infer<typeof createSnapshotInput>;
