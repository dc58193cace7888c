// `npm start`: set up what is missing, build when stale, then serve Cirrus in
// production mode on an embedded PostgreSQL (or DATABASE_URL).
import { spawn } from 'node:child_process';
import { checkNode, ensureBuild, ensureDependencies, ensureGuestTools, ensureImages, ensureNetworkPackages } from './setup.mjs';
import { root } from './lib/steps.mjs';

checkNode();
ensureDependencies();
ensureNetworkPackages({ required: false });
ensureGuestTools({ required: false });
ensureImages({ required: false });
ensureBuild();

const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
});
// The server shuts down cleanly on either signal; pass them on and leave with its status.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
