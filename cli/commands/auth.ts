// cirrus login · cirrus logout
import type { Command } from 'commander';
import { createApi, pickTenant } from '../api';
import type { App, Io } from '../app';
import { configPath, normalizeUrl, readConfig, removeConfig, writeConfig } from '../config';
import { CliError, describeFailure, EXIT, usageError } from '../exit-codes';
import { formatFields } from '../output';

/** All of stdin (a pipe or a file), trimmed to its first line. */
async function readPipedToken(stdin: Io['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').trim().split(/\r?\n/)[0]?.trim() ?? '';
}

/** Ask on the terminal without echoing what is typed. */
function promptHidden(io: Io, question: string): Promise<string> {
  const { stdin, stderr } = io;
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: CliError | null) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(typed.trim());
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new CliError('Cancelled.', EXIT.unexpected));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    // Raw before the prompt: nothing typed after it is echoed.
    stdin.setRawMode?.(true);
    stderr.write(question);
    stdin.setEncoding?.('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function tokenFrom(io: Io, given: string | undefined): Promise<string> {
  const token = given ?? io.env.CIRRUS_TOKEN ?? (io.stdin.isTTY ? await promptHidden(io, 'API token (Settings → API tokens): ') : await readPipedToken(io.stdin));
  if (!token.trim()) throw usageError('No token: give --token, set CIRRUS_TOKEN or pipe the token on stdin (make one in Settings → API tokens).');
  if (/\s/.test(token.trim())) throw usageError('A token is one word with no spaces; copy it again from Settings → API tokens.');
  return token.trim();
}

export function registerAuth(program: Command, app: App): void {
  program
    .command('login')
    .description('sign in with an API token and save it (0600) for the next commands')
    .option('--url <url>', 'the address of the Cirrus console (default: $CIRRUS_URL, or the one saved)')
    .option('--token <token>', 'an API token (default: $CIRRUS_TOKEN, else read from stdin, never echoed); a token on the command line shows in ps')
    .addHelpText('after', '\nThe file is $CIRRUS_CONFIG, else $XDG_CONFIG_HOME/cirrus/config.json (~/.config/cirrus/config.json).\nGive --tenant <slug> to choose the tenant later commands act in.')
    .action(async (opts: { url?: string; token?: string }) => {
      const file = configPath(app.io.env);
      const saved = readConfig(file, (l) => app.note(l));
      const rawUrl = opts.url ?? app.io.env.CIRRUS_URL ?? saved?.url;
      if (!rawUrl) throw usageError('Give the address of the console: cirrus login --url https://cirrus.example.com');
      const url = normalizeUrl(rawUrl);
      const token = await tokenFrom(app.io, opts.token);
      let me;
      try {
        me = await createApi(url, token).me.get.query();
      } catch (err) {
        const f = describeFailure(err);
        if (f.exitCode === EXIT.auth) throw new CliError(`The server at ${url} refused that token: it may be revoked or mistyped. Make one in Settings → API tokens.`, EXIT.auth);
        throw err;
      }
      const wanted = program.opts<{ tenant?: string }>().tenant ?? app.io.env.CIRRUS_TENANT ?? null;
      const tenant = wanted || me.tenants.length === 1 ? pickTenant(me.tenants, wanted).slug : null;
      writeConfig(file, { url, token, tenant });
      app.print({ url, user: { email: me.user.email, name: me.user.name }, tenant, config: file }, () =>
        formatFields([
          ['Signed in to', url],
          ['As', `${me.user.name} <${me.user.email}>`],
          ['Tenant', tenant ?? `none chosen (you are in ${me.tenants.length}): give --tenant <slug>`],
          ['Saved in', file],
        ]),
      );
    });

  program
    .command('logout')
    .description('forget the saved token (it stays valid until you revoke it in Settings → API tokens)')
    .action(() => {
      const file = configPath(app.io.env);
      const removed = removeConfig(file);
      app.note(removed ? `Signed out: removed ${file}. Revoke the token in Settings → API tokens if nobody should use it again.` : `Not signed in (no ${file}).`);
      if (app.io.env.CIRRUS_TOKEN) app.note('CIRRUS_TOKEN is still set in the environment: commands will go on using it.');
    });
}
