#!/usr/bin/env node
// The `cirrus` command (package.json "bin"). The CLI is TypeScript run by
// tsx, a runtime dependency, so there is no build step; the repository's
// tsconfig is named so that tsx does not pick up one from the caller's
// directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('./main.ts');
await main();
