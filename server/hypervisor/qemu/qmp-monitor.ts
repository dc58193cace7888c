// QMP, layer 2: the monitor. One per guest: keeps a wire connected, passes
// events on, and when the connection drops asks whether QEMU is still alive:
// if so it reconnects, if not it reports the guest gone (once).
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpWire, type ExecuteOptions, type QmpEventMessage } from './qmp-wire';

export interface QmpMonitorOptions {
  socketPath: string;
  /** Is the QEMU process still there? Decides reconnect versus gone. */
  isAlive: () => boolean;
  onEvent: (e: QmpEventMessage) => void;
  /** The process ended; no more events will come. Called at most once. */
  onGone: () => void;
}

export class QmpMonitor {
  private wire: QmpWire | null = null;
  private closing = false;
  private gone = false;
  private reconnecting: Promise<void> | null = null;

  constructor(private readonly opts: QmpMonitorOptions) {}

  /** Connect, retrying while the socket is not yet accepting (a QEMU just started). */
  async connect(deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    let lastErr: unknown = null;
    while (Date.now() < until && !this.closing) {
      try {
        this.attach(await QmpWire.connect(this.opts.socketPath, Math.max(500, until - Date.now())));
        return;
      } catch (e) {
        lastErr = e;
        if (!this.opts.isAlive()) break;
        await sleep(50);
      }
    }
    throw new Error(`cannot reach QMP at ${this.opts.socketPath}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
  }

  get connected(): boolean {
    return this.wire?.isOpen ?? false;
  }

  async execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T> {
    if (!this.wire?.isOpen) {
      if (this.reconnecting) await this.reconnecting;
      else await this.connect(2_000);
    }
    if (!this.wire) throw new Error('QMP not connected');
    return this.wire.execute<T>(command, args, opts);
  }

  /** Drop the connection without touching the guest. */
  close(): void {
    this.closing = true;
    this.wire?.close();
    this.wire = null;
  }

  private attach(wire: QmpWire): void {
    this.wire = wire;
    wire.onEvent((e) => this.opts.onEvent(e));
    wire.onClose(() => {
      if (this.wire === wire) this.wire = null;
      if (!this.closing) this.reconnecting = this.recover().finally(() => (this.reconnecting = null));
    });
  }

  private async recover(): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      if (!this.opts.isAlive()) return this.markGone();
      try {
        this.attach(await QmpWire.connect(this.opts.socketPath, 1_000));
        return;
      } catch {
        await sleep(attempt < 20 ? 100 : 2_000);
      }
    }
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.closing = true;
    this.opts.onGone();
  }
}
