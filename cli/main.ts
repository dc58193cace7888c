// The `cirrus` command line: 1. the program and its global options ·
// 2. running it: every failure is one sentence on stderr and an exit code
// (./exit-codes.ts), never a stack.
import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { App, type GlobalOptions, type Io } from './app';
import { registerAuth } from './commands/auth';
import { registerConsole } from './commands/console';
import { registerInstances } from './commands/instances';
import { registerSsh } from './commands/ssh';
import { registerTenants } from './commands/tenants';
import { describeFailure, EXIT, EXIT_CODES_HELP } from './exit-codes';
import { parseOutputFormat } from './output';

// ---------------------------------------------------------------- 1. the program

const ABOUT = `
Output: tables for people by default (on a terminal or not); --output json for
scripts: stable JSON on stdout (the API's own field names, dates in ISO 8601).
Progress and messages go to stderr.

Signing in: cirrus login --url <url> saves the token; CIRRUS_URL, CIRRUS_TOKEN
and CIRRUS_TENANT override what is saved; CIRRUS_CONFIG names the file.

${EXIT_CODES_HELP}`;

/** The repository's version (the CLI ships with the console it talks to). */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(app: App): Command {
  const program = new Command('cirrus');
  program
    .description('The Cirrus command line: sign in with an API token, then launch, list and reach instances.')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('-o, --output <format>', 'json or table (default: table)').argParser(parseOutputFormat))
    .option('--tenant <slug>', 'the tenant to act in (default: the one saved at login, or your only one)')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (s) => void app.io.stdout.write(s),
      writeErr: (s) => void app.io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'cirrus: ')),
    })
    .exitOverride()
    .addHelpText('after', ABOUT);
  registerAuth(program, app);
  registerTenants(program, app);
  const instances = registerInstances(program, app);
  registerSsh(instances, app);
  registerConsole(instances, app);
  // Subcommands inherit the output settings and exitOverride (set above, before they were made).
  return program;
}

// ---------------------------------------------------------------- 2. running it

/** Run the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  let program: Command | null = null;
  const app = new App(io, () => (program?.opts<GlobalOptions>() ?? {}) as GlobalOptions);
  program = buildProgram(app);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return app.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; everything else commander refuses is usage
      // (a group such as `cirrus instances` without its subcommand shows its help and exits 2).
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    const { message, exitCode } = describeFailure(err);
    io.stderr.write(`cirrus: ${message}\n`);
    if (io.env.CIRRUS_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return exitCode;
  }
}

/** The process: real stdio and environment. A closed pipe (`| head`) ends it quietly. */
export async function main(): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
}
