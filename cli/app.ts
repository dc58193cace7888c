// What every command is handed: where output goes and in which format, who
// it signs in as, which tenant it acts in. One per run of the CLI.
import { createApi, pickTenant, type Api, type Tenant } from './api';
import { resolveCredentials, type Credentials, type Env } from './config';
import { describeFailure } from './exit-codes';
import { formatJson, type OutputFormat } from './output';
import type { Stream } from './wait';

export type Io = {
  stdout: Stream;
  stderr: Stream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: Env;
};

export type GlobalOptions = { output?: OutputFormat; tenant?: string };

export class App {
  /** The run's exit code when a command reports failures itself and carries on (several ids). */
  exitCode: number = 0;
  private creds: Credentials | null = null;
  private client: Api | null = null;
  private chosen: Promise<Tenant> | null = null;

  constructor(
    readonly io: Io,
    private readonly globals: () => GlobalOptions,
  ) {}

  /** Table unless asked otherwise, on a terminal or not: scripts say `--output json`. */
  get format(): OutputFormat {
    return this.globals().output ?? 'table';
  }

  get color(): boolean {
    return Boolean(this.io.stdout.isTTY) && !this.io.env.NO_COLOR && this.io.env.TERM !== 'dumb';
  }

  /** Data for stdout: JSON, or what `table` makes of it. */
  print(value: unknown, table: () => string): void {
    this.io.stdout.write(this.format === 'json' ? formatJson(value) : table());
  }

  /** A line for people on stderr (progress, notes, errors). */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** Report a failure and carry on; the run exits with the first one's code. */
  fail(err: unknown): void {
    const { message, exitCode } = describeFailure(err);
    this.note(`cirrus: ${message}`);
    if (this.exitCode === 0) this.exitCode = exitCode;
  }

  credentials(): Credentials {
    return (this.creds ??= resolveCredentials(this.io.env, (line) => this.note(line)));
  }

  api(): Api {
    const c = this.credentials();
    return (this.client ??= createApi(c.url, c.token));
  }

  /** `--tenant`, else `CIRRUS_TENANT` or the one saved at login, else the only one. */
  tenant(): Promise<Tenant> {
    return (this.chosen ??= this.api()
      .tenants.list.query()
      .then((tenants) => pickTenant(tenants, this.globals().tenant ?? this.credentials().tenant)));
  }
}
