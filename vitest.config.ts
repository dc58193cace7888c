import { defineConfig } from 'vitest/config';
import path from 'node:path';

// Unit and integration tests sit beside the code they test (*.test.ts).
// Integration tests share one embedded PostgreSQL per run (globalSetup) and
// each test file gets its own database (server/test/db.ts).
export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.next/**', '.data/**', 'e2e/**'],
    globalSetup: ['./server/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
