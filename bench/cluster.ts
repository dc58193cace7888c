// Launches across a cluster (npm run cluster's, on this machine): 24 Tiny
// Linux launches asked at once through the control plane's API, spread over
// 4 tenants, timed until every instance runs — with three compute nodes, then
// with one. All nodes share this machine's cores, so three nodes add
// parallel job workers and QEMU starts, not CPU: the figure says what the
// control plane and the nodes' queues allow, not what three machines would.
// Needs root (namespaces) and the production build (made when missing).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inArray } from 'drizzle-orm';
import { startLocalCluster } from '../server/cluster/local-cluster';
import { createDb } from '../server/db/client';
import { freePort } from '../server/db/embedded';
import { hosts, instances } from '../server/db/schema';
import { testImagesDir } from '../server/hypervisor/qemu/test-support';
import { setQuota } from '../server/test/compute';
import { makeTenant, makeUser } from '../server/test/factories';
import { trpc } from '../server/test/server-process';
import { createToken } from '../server/tokens';
import type { BenchFigure, BenchModule } from './types';

const LAUNCHES = 24;
const TENANTS = 4;

async function launchesPerSecond(nodes: number): Promise<{ seconds: number; perNode: Record<string, number> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cirrus-bench-cluster-${nodes}-`));
  fs.chmodSync(dir, 0o711);
  const cluster = await startLocalCluster({ dir: path.join(dir, 'cluster'), nodes, port: await freePort(), imagesDir: testImagesDir(), log: () => undefined });
  const { db, pool } = createDb(cluster.databaseUrl);
  const ids: string[] = [];
  try {
    // 2 cores at the default 4 vCPUs each hold 8 tiny guests; these are idle, so a host may hold all 24.
    await db.update(hosts).set({ cpuRatioPct: 2000 });
    const owner = await makeUser(db);
    const token = (await createToken(db, { kind: 'user', userId: owner.id, email: owner.email, isAdmin: false, requestId: 'bench' }, { name: 'bench' })).secret;
    const tenants: string[] = [];
    for (let i = 0; i < TENANTS; i++) {
      const t = await makeTenant(db, owner, `bench-${nodes}-${i}`);
      await setQuota(db, t.id, { instances: LAUNCHES, vcpus: LAUNCHES, memoryMiB: LAUNCHES * 128 });
      tenants.push(t.id);
    }
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: LAUNCHES }, (_, i) =>
        trpc<{ id: string }>(cluster.url, token, 'instances.launch', { tenantId: tenants[i % TENANTS], name: `b${i}`, imageId: 'cirrus-tiny-linux', vcpus: 1, memoryMiB: 96, diskGiB: 1, nics: 1 }),
      ),
    );
    for (const r of results) {
      if (!r.ok) throw new Error(`a launch was refused: ${r.message}`);
      ids.push(r.data.id);
    }
    for (;;) {
      const rows = await db.select({ state: instances.state, hostId: instances.hostId }).from(instances).where(inArray(instances.id, ids));
      if (rows.some((r) => r.state === 'error')) throw new Error('an instance failed to start');
      if (rows.every((r) => r.state === 'running')) {
        const perNode: Record<string, number> = {};
        for (const r of rows) perNode[r.hostId!] = (perNode[r.hostId!] ?? 0) + 1;
        return { seconds: (performance.now() - t0) / 1000, perNode };
      }
      if (performance.now() - t0 > 600_000) throw new Error('the launches did not all run within 10 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await pool.end();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const clusterBench: BenchModule = {
  name: 'cluster',
  description: `${LAUNCHES} launches at once through a control plane, until all run: three compute nodes versus one (one machine, TCG)`,
  async run() {
    if (process.getuid?.() !== 0) throw new Error('the cluster bench runs nodes in network namespaces: run it as root');
    const { ensureBuild } = (await import(path.resolve(import.meta.dirname, '../scripts/setup.mjs'))) as { ensureBuild: (o?: { exitOnFailure?: boolean }) => boolean };
    if (!ensureBuild({ exitOnFailure: false })) throw new Error('the production build failed');
    const figures: BenchFigure[] = [];
    for (const nodes of [3, 1]) {
      const r = await launchesPerSecond(nodes);
      figures.push(
        { label: `${nodes} node${nodes === 1 ? '' : 's'}: all ${LAUNCHES} running`, value: r.seconds.toFixed(2), unit: 's' },
        { label: `${nodes} node${nodes === 1 ? '' : 's'}: launches per second`, value: (LAUNCHES / r.seconds).toFixed(1), unit: '/s' },
        { label: `${nodes} node${nodes === 1 ? '' : 's'}: instances per node`, value: Object.values(r.perNode).sort((a, b) => b - a).join(' / ') },
      );
    }
    return figures;
  },
};

export default clusterBench;
