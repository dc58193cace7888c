import fs from 'node:fs';
import path from 'node:path';

/**
 * A secret generated on first use and kept in `<dataDir>/secrets/<name>`
 * (directory 0700, file 0600). Secrets never live in the repository.
 */
export function readOrCreateSecret(dataDir: string, name: string, generate: () => string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad secret name ${name}`);
  const dir = path.join(dataDir, 'secrets');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = generate();
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}
