// The pool's clients (createDb, ./client.ts). A statement drizzle gives a name (a builder's `.prepare(label)`,
// executeNamed and prebuilt in ./named.ts) is parsed and planned once per connection, then only bound and run.
// 1. Names on the wire · 2. The client: names, or none, and a stale name recovered
import crypto from 'node:crypto';
import pg from 'pg';

// 1. A name is a hash of the statement's text, then its label: a label whose text varies (an optional
// condition, another set of columns) gets a statement per text instead of node-postgres's "Prepared
// statements must be unique", and PostgreSQL, which keeps only a name's first 63 bytes, never confuses two
// texts of one long label. Every text named stays prepared on every connection that ran it, so a label names
// a few texts at most; the rest run unnamed (and the label is warned about once: its variety is a bug).

/** How many texts one label may name. */
export const MAX_TEXTS_PER_LABEL = 16;
/** What PostgreSQL keeps of a statement's name (NAMEDATALEN - 1 bytes). */
export const MAX_NAME_BYTES = 63;

const nameOfText = new Map<string, string>();
const textsOfLabel = new Map<string, number>();

/** The name `text` goes by on the wire (the first label it came with), or null when its label has named enough texts. */
export function wireName(label: string, text: string): string | null {
  const known = nameOfText.get(text);
  if (known) return known;
  const named = textsOfLabel.get(label) ?? 0;
  if (named >= MAX_TEXTS_PER_LABEL) {
    if (named === MAX_TEXTS_PER_LABEL) console.warn(`[db] statement label ${label} has more than ${MAX_TEXTS_PER_LABEL} texts: the others run unnamed`);
    textsOfLabel.set(label, MAX_TEXTS_PER_LABEL + 1);
    return null;
  }
  textsOfLabel.set(label, named + 1);
  const hash = crypto.createHash('sha1').update(text).digest('base64url').slice(0, 12);
  // ASCII only, so characters are bytes and the cut leaves a whole name.
  const name = `${hash}:${label.replace(/[^\w.:-]/g, '_')}`.slice(0, MAX_NAME_BYTES);
  nameOfText.set(text, name);
  return name;
}

// 2. A connection's prepared statement can go stale under it: 0A000 "cached plan must not change result type"
// (a migration changed a table it reads: the statement must be prepared again, under another name, as the old
// one stays until the connection closes) or 26000 "prepared statement does not exist" (the session was reset
// behind node-postgres's back). The client forgets the name on that connection and, outside a transaction
// block, runs the statement once more: it failed before running, so nothing ran twice. Inside one, the
// transaction is aborted and the error is the caller's; its next try prepares the statement afresh.

export type NamingClientConfig = pg.ClientConfig & { namedStatements?: boolean };
type Callback = (err: Error | null, result?: pg.QueryResult) => void;
type Named = { name: string; text: string };

const stale = (err: unknown) => {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === '26000' || (code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type'));
};

const PIN_READ_COMMITTED = "set default_transaction_isolation to 'read committed'";

export class NamingClient extends pg.Client {
  /** False: every statement goes unnamed (CIRRUS_DB_NAMED_STATEMENTS=off, behind a transaction-mode pooler). */
  readonly namedStatements: boolean;
  /** Names this connection gave up (their plan changed result type), to the name it prepares instead. */
  private readonly replaced = new Map<string, string>();

  constructor(config?: string | NamingClientConfig) {
    super(config);
    this.namedStatements = typeof config !== 'object' || config.namedStatements !== false;
  }

  /**
   * Connect, then pin READ COMMITTED before anything else runs on the connection: placement's guarantee needs a
   * fresh snapshot per statement (instances_claim_host, reserveOnHost), whatever default the database or role was
   * given. A SET rather than a startup option, which PgBouncer refuses; the trigger refuses any other level anyway.
   * Done inside connect, so the pool's first query never shares the connection with it.
   */
  override connect(): Promise<pg.Client>;
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
  override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void | Promise<pg.Client> {
    const done = super.connect().then(async () => {
      await query.call(this, PIN_READ_COMMITTED);
      return this as pg.Client;
    });
    if (!callback) return done;
    const cb = callback as (err: Error | null, c?: pg.Client) => void;
    done.then(
      (c) => cb(null, c),
      (e: Error) => cb(e),
    );
  }

  /** The name `base` goes by on this connection. */
  nameHere(base: string): string {
    return this.replaced.get(base) ?? base;
  }

  /** Forget the name `base` goes by here (26000); give it another when the server still holds the stale one (0A000). */
  forget(base: string, err: unknown): void {
    const name = this.nameHere(base);
    delete (this.connection as unknown as { parsedStatements: Record<string, string> }).parsedStatements[name];
    if ((err as { code?: unknown }).code !== '0A000') return;
    const turn = Number(/^[^:~]*~(\d+):/.exec(name)?.[1] ?? 0) + 1;
    this.replaced.set(base, base.replace(':', `~${turn}:`).slice(0, MAX_NAME_BYTES));
  }
}

const query = pg.Client.prototype.query as (this: pg.Client, config: unknown, ...rest: unknown[]) => unknown;
NamingClient.prototype.query = function (this: NamingClient, config: unknown, ...rest: unknown[]) {
  const c = config as Partial<Named> | null;
  if (!c || typeof c !== 'object' || typeof c.name !== 'string' || typeof c.text !== 'string') return query.call(this, config, ...rest);
  const base = this.namedStatements ? wireName(c.name, c.text) : null;
  if (!base) return query.call(this, { ...c, name: undefined }, ...rest);
  const callback = rest.find((r): r is Callback => typeof r === 'function');
  const values = typeof rest[0] === 'function' ? undefined : rest[0];
  const send = () => query.call(this, { ...c, name: this.nameHere(base) }, values) as Promise<pg.QueryResult>;
  const result = send().catch((err: unknown) => {
    if (!stale(err)) throw err;
    this.forget(base, err);
    // 'I': not in a transaction block (read after the error, it is the state the statement ran in, or the one it left).
    if (this.getTransactionStatus() !== 'I') throw err;
    return send();
  });
  if (!callback) return result;
  result.then(
    (r) => callback(null, r),
    (e: Error) => callback(e),
  );
  return undefined;
} as typeof pg.Client.prototype.query;
