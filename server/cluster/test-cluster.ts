// The system tests' cluster (local-cluster.ts) with what each of them needs:
// a database connection from this process, a tenant with a quota and an API
// token for it, and an admin's token. Stopping it kills any guest the tests
// launched that outlived the cluster, and removes its directory unless
// CIRRUS_KEEP_CLUSTER=1 (to read the servers' logs after a failure).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../db/client';
import { freePort } from '../db/embedded';
import { testImagesDir } from '../hypervisor/qemu/test-support';
import type { QuotaLimits } from '../settings';
import { setQuota } from '../test/compute';
import { makeTenant, makeUser } from '../test/factories';
import { qemuProcessesFor } from '../test/server-process';
import { createToken } from '../tokens';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster';

export type TestCluster = {
  cluster: LocalCluster;
  /** Its directory (the cluster's is `cluster/` in it). */
  dir: string;
  db: Db;
  tenantId: string;
  /** The tenant's owner's API token, and an admin's. */
  token: string;
  adminToken: string;
  stop: () => Promise<void>;
};

export async function startTestCluster(opts: {
  name: string;
  quota: Partial<QuotaLimits>;
  /** The instances the tests launched (read at stop: any QEMU of theirs still alive is killed). */
  launched: () => readonly string[];
  options?: Partial<Omit<LocalClusterOptions, 'dir' | 'port' | 'imagesDir'>>;
}): Promise<TestCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cirrus-${opts.name}-`));
  fs.chmodSync(dir, 0o711);
  const cluster = await startLocalCluster({ dir: path.join(dir, 'cluster'), port: await freePort(), imagesDir: testImagesDir(), log: () => undefined, ...opts.options });
  const made = createDb(cluster.databaseUrl);
  const db = made.db;
  let users: { tenantId: string; token: string; adminToken: string };
  try {
    const owner = await makeUser(db);
    const tenantId = (await makeTenant(db, owner, `${opts.name} tests`)).id;
    await setQuota(db, tenantId, opts.quota);
    const token = (await createToken(db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 't' }, { name: opts.name })).secret;
    const admin = await makeUser(db, { isAdmin: true });
    const adminToken = (await createToken(db, { kind: 'user', userId: admin.id, email: admin.email, isAdmin: true, requestId: 't' }, { name: `${opts.name}-admin` })).secret;
    users = { tenantId, token, adminToken };
  } catch (err) {
    await made.pool.end();
    await cluster.stop();
    throw err;
  }
  const stop = async () => {
    await cluster.stop();
    // Nothing outlives the tests, even if stop went wrong: any guest of theirs is killed.
    for (const id of opts.launched()) for (const pid of qemuProcessesFor(id)) process.kill(pid, 'SIGKILL');
    await made.pool.end();
    if (!process.env.CIRRUS_KEEP_CLUSTER) fs.rmSync(dir, { recursive: true, force: true });
  };
  return { cluster, dir, db, ...users, stop };
}
