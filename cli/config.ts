// Where `cirrus login` keeps the server, the token and the chosen tenant, and
// how the environment overrides them. The file holds a secret: it is written
// 0600 (in a 0700 directory when the CLI makes it), atomically, and a file
// others can read is reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT, usageError } from './exit-codes';

export type SavedConfig = { url: string; token: string; tenant: string | null };

export type Env = Record<string, string | undefined>;

/** `$CIRRUS_CONFIG`, else `$XDG_CONFIG_HOME/cirrus/config.json`, else `~/.config/cirrus/config.json`. */
export function configPath(env: Env = process.env): string {
  if (env.CIRRUS_CONFIG) return path.resolve(env.CIRRUS_CONFIG);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'cirrus', 'config.json');
}

/** The saved configuration, or null when there is none. A file that is not ours to read says so. */
export function readConfig(file: string, warn: (line: string) => void = () => undefined): SavedConfig | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}.`, EXIT.unexpected);
  }
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) warn(`Warning: ${file} holds your API token and others can read it; run chmod 600 ${file}.`);
  } catch {
    /* it went away between the read and the stat */
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw usageError(`${file} is not valid JSON; fix it or run \`cirrus login\` again.`);
  }
  const c = data as Partial<SavedConfig> | null;
  if (!c || typeof c !== 'object' || typeof c.url !== 'string' || typeof c.token !== 'string') {
    throw usageError(`${file} does not hold a url and a token; run \`cirrus login\` again.`);
  }
  return { url: c.url, token: c.token, tenant: typeof c.tenant === 'string' && c.tenant ? c.tenant : null };
}

/** Write the configuration: 0600, in a 0700 directory when this makes it, replaced in one rename. */
export function writeConfig(file: string, config: SavedConfig): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`Cannot write ${file}: ${(err as Error).message}.`, EXIT.unexpected);
  }
}

/** Remove the saved configuration; false when there was none. */
export function removeConfig(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliError(`Cannot remove ${file}: ${(err as Error).message}.`, EXIT.unexpected);
  }
}

/** `https://host[:port][/prefix]` without a trailing slash; anything else is a usage error. */
export function normalizeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw usageError(`“${text}” is not a URL; give the address of the Cirrus console, such as https://cirrus.example.com.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`The Cirrus URL must start with http:// or https:// (got “${text}”).`);
  if (url.username || url.password) throw usageError('Put no user name or password in the URL: sign in with a token.');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export type Credentials = { url: string; token: string; tenant: string | null; configFile: string };

/**
 * Who the CLI talks to and as whom: `CIRRUS_URL`, `CIRRUS_TOKEN` and
 * `CIRRUS_TENANT` override the saved file, one by one.
 */
export function resolveCredentials(env: Env, warn?: (line: string) => void): Credentials {
  const configFile = configPath(env);
  const saved = readConfig(configFile, warn);
  const url = env.CIRRUS_URL || saved?.url;
  const token = env.CIRRUS_TOKEN || saved?.token;
  if (!url || !token) {
    throw new CliError('Not signed in: run `cirrus login --url <url>` (or set CIRRUS_URL and CIRRUS_TOKEN).', EXIT.auth);
  }
  return { url: normalizeUrl(url), token: token.trim(), tenant: env.CIRRUS_TENANT || saved?.tenant || null, configFile };
}
