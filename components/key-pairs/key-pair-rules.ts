import type { RouterOutputs } from '@/server/trpc/root';
import { roleReason } from '../instances/format';

export type KeyPair = RouterOutputs['keyPairs']['list']['items'][number];
export type GeneratedKeyPair = RouterOutputs['keyPairs']['generate'];

export const KEY_PAIRS_PAGE_SIZE = 20;

export const keyPairRoleReason = (role: 'owner' | 'member' | 'viewer') => roleReason(role, 'key pairs');

const TYPE_LABELS: Record<string, string> = { ed25519: 'ED25519', ecdsa: 'ECDSA', rsa: 'RSA' };

/** "ED25519 · 256 bits" */
export const formatKeyType = (k: Pick<KeyPair, 'keyType' | 'bits'>) => `${TYPE_LABELS[k.keyType] ?? k.keyType} · ${k.bits} bits`;

/** The file a generated private key downloads as: the name, shell-friendly, with .pem as EC2 does. */
export const privateKeyFileName = (name: string) => `${name.trim().replace(/\s+/g, '-').replace(/[^A-Za-z0-9._-]/g, '') || 'key'}.pem`;
