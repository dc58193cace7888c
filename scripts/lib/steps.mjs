// Small helpers shared by the setup, start and test scripts (no dependencies: they run before npm ci).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
export const bin = (name) => path.join(root, 'node_modules', '.bin', name);

export function log(message) {
  console.log(`[cirrus] ${message}`);
}

/** Run a command with an argv array (never a shell); returns its exit status. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...opts.env } });
  if (r.error) console.error(`[cirrus] could not run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

/** SHA-256 over the contents of files and directory trees (sorted, so stable). */
export function hashTree(entries, ignore = () => false) {
  const h = crypto.createHash('sha256');
  const visit = (abs) => {
    const rel = path.relative(root, abs);
    if (ignore(rel)) return;
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) visit(path.join(abs, name));
    } else if (st.isFile()) {
      h.update(rel).update('\0').update(fs.readFileSync(abs)).update('\0');
    }
  };
  for (const e of entries) visit(path.join(root, e));
  return h.digest('hex');
}
