import crypto from 'node:crypto';
import { getServerSession } from 'next-auth/next';
import { findActiveUser, type SessionUser } from '../accounts/users';
import { authOptions } from '../auth/options';
import { getDb, type Db } from '../db/client';
import { authenticateToken } from '../tokens';

export type Context = {
  db: Db;
  /** The signed-in, active user; null when anonymous, disabled or the token is bad. */
  user: SessionUser | null;
  requestId: string;
  /** How the caller authenticated. */
  via: 'session' | 'token' | 'none';
};

/**
 * Who is calling: `Authorization: Bearer <token>` wins over the next-auth
 * session cookie. Either way the user row is read now, so a disabled user or
 * a revoked token is refused on the very next request.
 */
export async function createContext(req: Request): Promise<Context> {
  const db = getDb();
  const requestId = req.headers.get('x-request-id')?.slice(0, 64) || crypto.randomUUID();
  const authz = req.headers.get('authorization');
  if (authz) {
    const match = /^Bearer\s+(\S+)$/i.exec(authz.trim());
    const user = match?.[1] ? await authenticateToken(db, match[1]) : null;
    return { db, user, requestId, via: user ? 'token' : 'none' };
  }
  const session = await getServerSession(authOptions);
  const userId = session?.user?.id;
  const user = userId ? await findActiveUser(db, userId) : null;
  return { db, user, requestId, via: user ? 'session' : 'none' };
}
