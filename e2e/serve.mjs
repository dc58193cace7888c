// Starts Cirrus for the e2e run on a fresh data directory, so no state leaks between runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const dir = process.env.CIRRUS_DATA_DIR;
if (!dir || !dir.includes('e2e')) throw new Error('CIRRUS_DATA_DIR must be the e2e data directory');
fs.rmSync(dir, { recursive: true, force: true });
const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));
