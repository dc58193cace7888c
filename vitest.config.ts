import { defineConfig } from 'vitest/config';
import path from 'node:path';

// Unit and integration tests sit beside the code they test (*.test.ts).
// Integration tests share one embedded PostgreSQL per run (globalSetup) and
// each test file gets its own database (server/test/db.ts).
//
// Two groups: "unit" files run in parallel first; then the "system" files —
// those that boot real QEMU guests or whole server processes — run one at a
// time, so they are not starved of the machine's two cores by each other.
const system = [
  'server/hypervisor/qemu/driver.test.ts',
  'server/hypervisor/qemu/saved-state.test.ts',
  'server/hypervisor/qemu/snapshots.test.ts',
  'server/hypervisor/qemu/clones.test.ts',
  'server/hypervisor/qemu/resize.test.ts',
  'server/hypervisor/qemu/volumes.test.ts',
  'server/hypervisor/qemu/isolation.test.ts',
  'server/instances/real-guests.test.ts',
  'server/console/console.test.ts',
  'server/runtime/boot.test.ts',
  'server/network/real-network.test.ts',
  'server/network/user-mode.test.ts',
  'server/instances/debian-guests.test.ts',
  'server/ec2/aws-tools.test.ts',
  'cli/cli.test.ts',
  'server/metrics/monitoring-real.test.ts',
  'server/cluster/cluster.test.ts',
  'server/hypervisor/qemu/live-migration.test.ts',
  'server/cluster/networks.test.ts',
];

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    exclude: ['node_modules/**', '.next/**', '.data/**', 'e2e/**'],
    globalSetup: ['./server/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.test.ts'], exclude: ['node_modules/**', '.next/**', '.data/**', 'e2e/**', ...system], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'system', include: system, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
