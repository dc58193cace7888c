import crypto from 'node:crypto';
import path from 'node:path';
import { defineConfig } from '@playwright/test';

// The e2e suite runs the production build of Cirrus (server.ts) on its own
// embedded PostgreSQL in a throw-away data directory, driven by Debian's Chromium.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://localhost:${port}`;
const dataDir = path.resolve(process.env.CIRRUS_E2E_DATA_DIR ?? '.data/e2e');
// Derived from the data dir so every Playwright process agrees on it; never stored in the repo.
export const e2eAdmin = {
  email: 'admin@e2e.test',
  password: crypto.createHash('sha256').update(`cirrus-e2e:${dataDir}`).digest('base64url').slice(0, 24),
};
process.env.CIRRUS_E2E_ADMIN_PASSWORD = e2eAdmin.password;

export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : 'list',
  use: {
    baseURL,
    browserName: 'chromium',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    },
  },
  webServer: {
    command: `${JSON.stringify(process.execPath)} e2e/serve.mjs`,
    url: `${baseURL}/api/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    // SIGTERM, not Playwright's default SIGKILL: e2e/serve.mjs then takes the run's guests and networks down with the server.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30_000 },
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      CIRRUS_DATA_DIR: dataDir,
      // Guest images are built once (npm run images) into the default data dir and shared.
      CIRRUS_IMAGES_DIR: path.resolve(process.env.CIRRUS_IMAGES_DIR ?? '.data/images'),
      CIRRUS_ADMIN_EMAIL: e2eAdmin.email,
      CIRRUS_ADMIN_PASSWORD: e2eAdmin.password,
      // A host that writes suspended guests' state at 12 MiB/s: a Tiny Linux state (~70 MiB) takes a few seconds, so its progress is there to see.
      CIRRUS_STATE_SAVE_MIBPS: '12',
      // Guests sampled every 5 s (not 10): the Monitoring card shows a burst sooner.
      CIRRUS_SAMPLE_SECONDS: '5',
    },
  },
});
