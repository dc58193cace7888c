// `npm test`: set up what is missing (npm ci, Chromium, QEMU, guest images, awscli and boto3),
// then lint, typecheck, unit + integration tests (Vitest, real PostgreSQL and
// QEMU), the production build and the end-to-end tests (Playwright in Debian's
// Chromium), and close with one summary line: "Summary: N passed, N failed".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkNode, ensureAwsTools, ensureBrowser, ensureBuild, ensureDependencies, ensureGuestTools, ensureImages, ensureNetworkPackages } from './setup.mjs';
import { bin, log, run } from './lib/steps.mjs';

checkNode();
ensureDependencies();
ensureBrowser();
// The network tests need them (they are real: bridges, nftables, dnsmasq).
ensureNetworkPackages({ required: true });
ensureGuestTools({ required: true });
ensureAwsTools({ required: true });
ensureImages({ required: true });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-test-'));
fs.chmodSync(work, 0o711);
const results = [];

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function step(name, fn) {
  log(`── ${name}`);
  const started = Date.now();
  const r = fn();
  results.push({ name, ...r, seconds: Math.round((Date.now() - started) / 1000) });
}

step('lint (ESLint)', () => (run(bin('eslint'), ['.', '--max-warnings=0']) === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }));

step('typecheck (tsc)', () => (run(bin('tsc'), ['--noEmit']) === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }));

// The integration tests that run the whole server, and the e2e tests, use the production build.
step('production build (next build)', () => (ensureBuild({ exitOnFailure: false }) ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }));

step('unit + integration (Vitest)', () => {
  const out = path.join(work, 'vitest.json');
  const status = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`]);
  const report = readJson(out);
  if (!report) return { passed: 0, failed: 1, note: `vitest exited ${status} without a report` };
  const failed = report.numFailedTests + (status !== 0 && report.numFailedTests === 0 ? 1 : 0);
  return { passed: report.numPassedTests, failed, skipped: report.numPendingTests + report.numTodoTests };
});

step('end-to-end (Playwright + Chromium)', () => {
  const out = path.join(work, 'playwright.json');
  const dataDir = path.join(work, 'e2e-data');
  const status = run(bin('playwright'), ['test'], {
    env: { PLAYWRIGHT_JSON_OUTPUT_NAME: out, CIRRUS_E2E_DATA_DIR: dataDir },
  });
  const stats = readJson(out)?.stats;
  if (!stats) return { passed: 0, failed: 1, note: `playwright exited ${status} without a report` };
  const failed = stats.unexpected + (status !== 0 && stats.unexpected === 0 ? 1 : 0);
  return { passed: stats.expected + stats.flaky, failed, skipped: stats.skipped };
});

fs.rmSync(work, { recursive: true, force: true });

const total = results.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + (r.skipped ?? 0) }), {
  passed: 0,
  failed: 0,
  skipped: 0,
});
console.log('\n[cirrus] results');
for (const r of results) {
  console.log(`  ${r.failed ? '✗' : '✓'} ${r.name}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} (${r.seconds}s)${r.note ? ` — ${r.note}` : ''}`);
}
console.log(`\nSummary: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(total.failed ? 1 : 0);
