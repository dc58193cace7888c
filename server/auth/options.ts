import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { authenticate, findActiveUser } from '../accounts/users';
import { recordAudit } from '../audit';
import { getDb } from '../db/client';

/**
 * next-auth (v4, the stable line) with e-mail + password. Sessions are signed
 * JWT cookies; every server-side use re-reads the user row (findActiveUser), so
 * disabling a user takes effect on their next request.
 */
export const authOptions: NextAuthOptions = {
  session: { strategy: 'jwt', maxAge: 12 * 60 * 60 },
  pages: { signIn: '/signin' },
  providers: [
    CredentialsProvider({
      name: 'E-mail and password',
      credentials: {
        email: { label: 'E-mail', type: 'email' },
        password: { label: 'Password', type: 'password' },
      },
      async authorize(credentials) {
        const email = typeof credentials?.email === 'string' ? credentials.email.slice(0, 254) : '';
        const password = typeof credentials?.password === 'string' ? credentials.password.slice(0, 200) : '';
        if (!email || !password) return null;
        const db = getDb();
        const user = await authenticate(db, email, password);
        await recordAudit(
          db,
          user
            ? { kind: 'user', userId: user.id, email: user.email, isAdmin: user.isAdmin, requestId: 'signin' }
            : { kind: 'system', requestId: 'signin' },
          {
            action: 'user.signIn',
            target: user ? { type: 'user', id: user.id } : undefined,
            outcome: user ? 'success' : 'failure',
            detail: user ? undefined : { email: email.toLowerCase() },
          },
        ).catch(() => undefined);
        return user ? { id: user.id, email: user.email, name: user.name } : null;
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) token.uid = user.id;
      return token;
    },
    async session({ session, token }) {
      const active = typeof token.uid === 'string' ? await findActiveUser(getDb(), token.uid) : null;
      if (!active) return { ...session, user: undefined };
      return { ...session, user: { id: active.id, email: active.email, name: active.name, isAdmin: active.isAdmin } };
    },
  },
};
