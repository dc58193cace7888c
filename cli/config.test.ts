import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configPath, normalizeUrl, readConfig, removeConfig, resolveCredentials, writeConfig } from './config';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-cli-config-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const saved = { url: 'https://cirrus.example.com', token: 'cirrus_secret', tenant: 'acme' };

describe('where the config lives', () => {
  it('is $CIRRUS_CONFIG, else under $XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configPath({ CIRRUS_CONFIG: '/etc/c.json', XDG_CONFIG_HOME: '/x', HOME: '/home/u' })).toBe('/etc/c.json');
    expect(configPath({ XDG_CONFIG_HOME: '/x', HOME: '/home/u' })).toBe('/x/cirrus/config.json');
    expect(configPath({ HOME: '/home/u' })).toBe('/home/u/.config/cirrus/config.json');
    // A relative XDG_CONFIG_HOME is to be ignored (XDG Base Directory spec).
    expect(configPath({ XDG_CONFIG_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.config/cirrus/config.json');
  });
});

describe('the config file', () => {
  it('is written 0600 in a 0700 directory it makes, whatever the umask', () => {
    const file = path.join(dir, 'deep', 'cirrus', 'config.json');
    const old = process.umask(0o000);
    try {
      writeConfig(file, saved);
    } finally {
      process.umask(old);
    }
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(readConfig(file)).toEqual(saved);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['config.json']); // no temporary file left
  });

  it('replaces an older file and tightens it, and leaves a directory it did not make alone', () => {
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    writeConfig(file, { ...saved, tenant: null });
    expect(mode(file)).toBe(0o600);
    expect(mode(dir)).toBe(0o755);
    expect(readConfig(file)).toEqual({ ...saved, tenant: null });
  });

  it('warns when others can read it', () => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(saved), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(readConfig(file, (l) => warnings.push(l))).toEqual(saved);
    expect(warnings).toEqual([`Warning: ${file} holds your API token and others can read it; run chmod 600 ${file}.`]);
  });

  it('is null when missing, and a usage error in one sentence when broken', () => {
    expect(readConfig(path.join(dir, 'none.json'))).toBeNull();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, '{not json', { mode: 0o600 });
    expect(() => readConfig(file)).toThrow(`${file} is not valid JSON; fix it or run \`cirrus login\` again.`);
    fs.writeFileSync(file, '{"url": 1}');
    expect(() => readConfig(file)).toThrow(/does not hold a url and a token/);
  });

  it('goes on logout', () => {
    const file = path.join(dir, 'config.json');
    writeConfig(file, saved);
    expect(removeConfig(file)).toBe(true);
    expect(removeConfig(file)).toBe(false);
  });
});

describe('credentials', () => {
  it('come from the file, each overridden by the environment', () => {
    const file = path.join(dir, 'config.json');
    writeConfig(file, saved);
    expect(resolveCredentials({ CIRRUS_CONFIG: file })).toEqual({ ...saved, configFile: file });
    expect(resolveCredentials({ CIRRUS_CONFIG: file, CIRRUS_TOKEN: 'cirrus_env', CIRRUS_URL: 'http://127.0.0.1:3000/', CIRRUS_TENANT: 'other' })).toEqual({
      url: 'http://127.0.0.1:3000',
      token: 'cirrus_env',
      tenant: 'other',
      configFile: file,
    });
  });

  it('say how to sign in when there are none', () => {
    expect(() => resolveCredentials({ CIRRUS_CONFIG: path.join(dir, 'none.json') })).toThrow(/^Not signed in: run `cirrus login --url <url>`/);
    try {
      resolveCredentials({ CIRRUS_CONFIG: path.join(dir, 'none.json'), CIRRUS_URL: 'http://x' });
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(3);
    }
  });
});

describe('URLs', () => {
  it('keep origin and path, without a trailing slash', () => {
    expect(normalizeUrl(' https://cirrus.example.com/ ')).toBe('https://cirrus.example.com');
    expect(normalizeUrl('http://10.0.0.5:3000/cirrus//')).toBe('http://10.0.0.5:3000/cirrus');
  });

  it('refuse what is not an http(s) address', () => {
    expect(() => normalizeUrl('cirrus.example.com')).toThrow(/is not a URL/);
    expect(() => normalizeUrl('ftp://x')).toThrow('The Cirrus URL must start with http:// or https:// (got “ftp://x”).');
    expect(() => normalizeUrl('https://me:pw@x')).toThrow(/no user name or password/);
  });
});
