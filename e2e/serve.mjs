// Starts Cirrus for the e2e run on a fresh data directory, so no state leaks between runs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const dir = process.env.CIRRUS_DATA_DIR;
if (!dir || !dir.includes('e2e')) throw new Error('CIRRUS_DATA_DIR must be the e2e data directory');
// Never wipe a directory a running server still holds (another e2e run).
try {
  const pid = Number(fs.readFileSync(`${dir}/cirrus.pid`, 'utf8'));
  process.kill(pid, 0);
  console.error(`[e2e] another e2e server (pid ${pid}) is using ${dir}; wait for it to finish.`);
  process.exit(1);
} catch {
  /* no live owner: safe to start afresh */
}
fs.rmSync(dir, { recursive: true, force: true });
const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => {
  // Nothing of the run outlives it: its guests and its tenant networks go with the server.
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/teardown-host.ts', dir], { stdio: 'inherit' });
  process.exit(code ?? 0);
});
