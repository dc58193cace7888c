/**
 * A WebSocket as noVNC's "raw channel", holding on to the messages that arrive
 * before anyone listens. The console waits for the guest's first bytes (so a
 * refusal closes the socket before noVNC exists) and noVNC loads lazily; this
 * replays what came meanwhile, in order.
 */
export class ReplayChannel {
  onopen: ((e: Event) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  private handler: ((e: MessageEvent) => void) | null = null;
  private backlog: MessageEvent[] = [];
  private flushing = false;

  constructor(readonly socket: WebSocket) {
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', (e) => {
      if (this.handler && !this.backlog.length) this.handler(e);
      else this.backlog.push(e);
    });
    socket.addEventListener('open', (e) => this.onopen?.(e));
    socket.addEventListener('close', (e) => this.onclose?.(e));
    socket.addEventListener('error', (e) => this.onerror?.(e));
  }

  get onmessage() {
    return this.handler;
  }

  set onmessage(handler: ((e: MessageEvent) => void) | null) {
    this.handler = handler;
    // After the caller has finished setting up (noVNC attaches inside its constructor).
    if (handler && this.backlog.length && !this.flushing) {
      this.flushing = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  private flush() {
    this.flushing = false;
    while (this.handler && this.backlog.length) this.handler(this.backlog.shift()!);
  }

  get binaryType() {
    return this.socket.binaryType;
  }

  set binaryType(type: BinaryType) {
    this.socket.binaryType = type;
  }

  get protocol() {
    return this.socket.protocol;
  }

  get readyState() {
    return this.socket.readyState;
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView<ArrayBuffer>) {
    this.socket.send(data);
  }

  close(code?: number, reason?: string) {
    this.socket.close(code, reason);
  }
}
