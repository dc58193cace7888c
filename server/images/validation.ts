// Captured-image input: plain data and zod schemas, shared by the server and the forms.
import { z } from 'zod';
import { snapshotIdSchema } from '../snapshots/validation';

export const CAPTURED_IMAGE_ID_PATTERN = /^ami-[0-9a-f]{17}$/;
export const capturedImageIdSchema = z.string().regex(CAPTURED_IMAGE_ID_PATTERN, 'That is not an image id.');

export const imageNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the image a name.')
  .max(64, 'An image name is at most 64 characters.')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._:()-]*$/u, 'Use letters, digits, spaces and . _ : ( ) - (starting with a letter or digit).');

export const createImageInput = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]{17}$/, 'That is not an instance id.'),
  /** One of its snapshots; omitted or null: its disk as it is now. */
  snapshotId: snapshotIdSchema.nullish(),
  name: imageNameSchema,
  description: z.string().trim().max(500, 'A description is at most 500 characters.').optional(),
});
export type CreateImageInput = z.infer<typeof createImageInput>;
