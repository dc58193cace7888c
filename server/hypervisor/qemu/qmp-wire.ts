// QMP, layer 1: the wire. One Unix-socket connection: line framing of JSON
// messages, the greeting and capabilities negotiation, command ids and a
// timeout per command. Knows nothing of guests.
import net from 'node:net';

export interface QmpEventMessage {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
  ) {
    super(message);
    this.name = 'QmpError';
  }
}

export interface ExecuteOptions {
  timeoutMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export class QmpWire {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeting: ((v: unknown) => void) | null = null;
  private closed = false;
  private readonly eventListeners: ((e: QmpEventMessage) => void)[] = [];
  private readonly closeListeners: ((err: Error | null) => void)[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (err) => this.finish(err));
    sock.on('close', () => this.finish(null));
  }

  /** Connect, read the greeting and leave capabilities-negotiation mode. */
  static async connect(socketPath: string, timeoutMs = 5_000): Promise<QmpWire> {
    const sock = net.createConnection({ path: socketPath });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`QMP connect to ${socketPath} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    const wire = new QmpWire(sock);
    try {
      await wire.awaitGreeting(timeoutMs);
      await wire.execute('qmp_capabilities', undefined, { timeoutMs });
    } catch (e) {
      wire.close();
      throw e;
    }
    return wire;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  onEvent(fn: (e: QmpEventMessage) => void): void {
    this.eventListeners.push(fn);
  }

  /** Called once when the connection ends (err is null for a clean close). */
  onClose(fn: (err: Error | null) => void): void {
    this.closeListeners.push(fn);
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: ExecuteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP connection closed (${command})`));
    const id = `c${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP command ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const msg = args ? { execute: command, arguments: args, id } : { execute: command, id };
      this.sock.write(JSON.stringify(msg) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
    this.finish(null);
  }

  private awaitGreeting(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('QMP greeting timed out')), timeoutMs);
      this.greeting = () => {
        clearTimeout(t);
        resolve();
      };
      this.closeListeners.push(() => {
        clearTimeout(t);
        reject(new Error('QMP connection closed before the greeting'));
      });
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; ignore anything torn.
    }
    if ('QMP' in msg) {
      this.greeting?.(msg);
      this.greeting = null;
      return;
    }
    if (typeof msg.event === 'string') {
      for (const fn of this.eventListeners) fn(msg as unknown as QmpEventMessage);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : null;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError(err.class ?? 'GenericError', err.desc ?? 'QMP error'));
    } else {
      p.resolve(msg.return);
    }
  }

  private finish(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('QMP connection closed'));
    }
    this.pending.clear();
    for (const fn of this.closeListeners) fn(err);
  }
}
