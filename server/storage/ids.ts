import crypto from 'node:crypto';

/** EC2-style volume id: `vol-` and 17 lower-case hex digits (also the pool's name for it). */
export function newVolumeId(): string {
  return `vol-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`;
}
