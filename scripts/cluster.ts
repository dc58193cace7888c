// `npm run cluster`: a Cirrus cluster on this machine — one control plane on
// http://127.0.0.1:<PORT> (default 3200), NODES compute nodes (default 3) in
// network namespaces of their own, one PostgreSQL — until Ctrl-C, which takes
// all of it down (guests, namespaces, the bridge). Needs root.
// Its directory: CIRRUS_CLUSTER_DIR, else .data/cluster (wiped at start).
import path from 'node:path';
import { startLocalCluster } from '../server/cluster/local-cluster';

const port = Number(process.env.PORT ?? 3200);
const nodes = Number(process.env.NODES ?? 3);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a TCP port, not ${process.env.PORT}`);
  process.exit(2);
}
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
  console.error(`NODES must be 1 to 9, not ${process.env.NODES}`);
  process.exit(2);
}
const dir = path.resolve(process.env.CIRRUS_CLUSTER_DIR ?? '.data/cluster');

async function main() {
  console.log(`[cluster] starting ${nodes} node(s) and a control plane in ${dir}…`);
  // Tenant networks span the nodes over VXLAN (CIRRUS_NETWORK=user: user-mode NICs only).
  const cluster = await startLocalCluster({ dir, nodes, port, imagesDir: process.env.CIRRUS_IMAGES_DIR ?? '.data/images', echo: true, tenantNetworks: process.env.CIRRUS_NETWORK !== 'user' });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[cluster] stopping…');
    await cluster.stop();
    console.log('[cluster] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  console.log(
    [
      '',
      `  Cirrus cluster: ${cluster.url}`,
      `  Sign-in credentials: ${path.join(cluster.control.dataDir, 'credentials.txt')}`,
      ...cluster.nodes.map((n) => `  ${n.name}: ${n.ip} (namespace ${n.ns}, node channel ${n.channel}, log ${n.log})`),
      `  Database: ${cluster.databaseUrl.replace(/:[^:@/]+@/, ':…@')}`,
      '  Ctrl-C stops the cluster and everything it ran.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  console.error(`[cluster] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
