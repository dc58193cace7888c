import crypto from 'node:crypto';

/** EC2-style snapshot id: `snap-` and 17 lower-case hex digits (also the driver's name for it). */
export function newSnapshotId(): string {
  return `snap-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`;
}
