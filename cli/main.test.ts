// The program in-process, without a server: help, usage errors and exit codes.
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from './main';

async function cirrus(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: new PassThrough(),
    env: { CIRRUS_CONFIG: path.join(os.tmpdir(), 'cirrus-cli-none', 'config.json'), HOME: os.tmpdir() },
  });
  return { code, out, err };
}

describe('cirrus', () => {
  it('documents the exit codes in --help and exits 0', async () => {
    const r = await cirrus('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Exit codes:');
    expect(r.out).toContain('5  refused by quota, budget or capacity');
  });

  it('gives one sentence and exit 2 for bad usage, never a stack', async () => {
    for (const argv of [
      ['instances', 'launch', '--name', 'x'],
      ['instances', 'launch', '--name', 'x', '--image', 'y', '--vcpus', 'two'],
      ['instances', 'ls', '--state', 'runing'],
      ['--output', 'yaml', 'instances', 'ls'],
      ['instances', 'stop'],
      ['nonsense'],
      ['instances'],
    ]) {
      const r = await cirrus(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(/cirrus: |Usage:/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('says how to sign in, with exit 3, when there is no token', async () => {
    const r = await cirrus('instances', 'ls');
    expect(r).toEqual({ code: 3, out: '', err: 'cirrus: Not signed in: run `cirrus login --url <url>` (or set CIRRUS_URL and CIRRUS_TOKEN).\n' });
  });

  it('takes global options after the subcommand too', async () => {
    const r = await cirrus('instances', 'ls', '--output', 'json');
    expect(r.code).toBe(3);
  });
});
