import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { systemActor } from '../audit';
import { insertUser } from '../accounts/users';
import { emailSchema, passwordSchema } from '../accounts/validation';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { createTenantTx } from '../tenants/tenants';

export type SeededCredentials = {
  admin: { email: string; password: string };
  demo: { email: string; password: string; tenantSlug: string };
};

const randomPassword = () => crypto.randomBytes(12).toString('base64url');

/**
 * First start only (no users yet): an admin, and a demo tenant owned by a demo
 * user. Passwords are random unless CIRRUS_ADMIN_EMAIL / CIRRUS_ADMIN_PASSWORD
 * say otherwise; they are written once to `<dataDir>/credentials.txt` (0600).
 * Returns the credentials when it seeded, null when the database had users.
 */
export async function seedIfEmpty(db: Db, dataDir: string): Promise<SeededCredentials | null> {
  const adminEmail = emailSchema.parse(process.env.CIRRUS_ADMIN_EMAIL ?? 'admin@cirrus.local');
  const adminPassword = passwordSchema.parse(process.env.CIRRUS_ADMIN_PASSWORD ?? randomPassword());
  const creds = await db.transaction(async (tx) => {
    // Two servers starting on an empty database must not both seed.
    await tx.execute(sql`lock table ${users} in exclusive mode`);
    const [any] = await tx.select({ id: users.id }).from(users).limit(1);
    if (any) return null;
    await insertUser(tx, { email: adminEmail, name: 'Administrator', password: adminPassword, isAdmin: true });
    const demo = { email: 'demo@cirrus.local', password: randomPassword() };
    const demoUser = await insertUser(tx, { ...demo, name: 'Demo User' });
    const tenant = await createTenantTx(tx, systemActor('seed'), 'Demo', demoUser.id);
    return { admin: { email: adminEmail, password: adminPassword }, demo: { ...demo, tenantSlug: tenant.slug } };
  });
  if (creds) {
    const file = path.join(dataDir, 'credentials.txt');
    fs.writeFileSync(
      file,
      [
        '# Cirrus credentials created on first start. Keep this file private.',
        `admin  ${creds.admin.email}  ${creds.admin.password}`,
        `demo   ${creds.demo.email}  ${creds.demo.password}  (tenant: ${creds.demo.tenantSlug})`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    fs.chmodSync(file, 0o600);
  }
  return creds;
}
