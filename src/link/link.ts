/**
 * A Link is a byte stream to the target and nothing more: it knows neither the
 * josx64 protocol nor gdb's. Implementations: TCP and Unix sockets (QEMU's
 * `-serial tcp:`/`unix:`), a serial device, an in-memory pair for tests; wrappers
 * record or throttle any of them.
 */

export interface Link {
  /** For messages: "tcp:127.0.0.1:5555", "/dev/ttyUSB0 at 115200 baud". */
  readonly description: string;
  /** Queues bytes for the target. Throws LINK_CLOSED once the link is closed. */
  write(data: Buffer): void;
  /** Closes the link; onClose callbacks run once (without an error). Idempotent. */
  close(): void;
  /**
   * Registers a receiver. Bytes that arrive before the first receiver is registered
   * are kept and delivered to it, so nothing is lost between open and subscribe.
   */
  onData(cb: (chunk: Buffer) => void): void;
  /** Runs once when the link closes, with the error that closed it if any; at once if already closed. */
  onClose(cb: (err?: Error) => void): void;
  readonly closed: boolean;
}

/**
 * The callback bookkeeping every Link shares: buffering until the first receiver,
 * close reported exactly once, late onClose registrations answered at once.
 */
export abstract class BaseLink implements Link {
  abstract readonly description: string;
  private readonly dataCbs: ((chunk: Buffer) => void)[] = [];
  private readonly closeCbs: ((err?: Error) => void)[] = [];
  private early: Buffer[] = [];
  private isClosed = false;
  private closeError: Error | undefined;

  get closed(): boolean {
    return this.isClosed;
  }

  abstract write(data: Buffer): void;
  abstract close(): void;

  onData(cb: (chunk: Buffer) => void): void {
    this.dataCbs.push(cb);
    if (this.dataCbs.length === 1 && this.early.length > 0) {
      const early = this.early;
      this.early = [];
      for (const chunk of early) cb(chunk);
    }
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.isClosed) {
      cb(this.closeError);
      return;
    }
    this.closeCbs.push(cb);
  }

  /** For implementations: deliver received bytes. */
  protected emitData(chunk: Buffer): void {
    if (this.isClosed || chunk.length === 0) return;
    if (this.dataCbs.length === 0) {
      this.early.push(chunk);
      return;
    }
    for (const cb of this.dataCbs) cb(chunk);
  }

  /** For implementations: report the close (once; later calls are ignored). */
  protected emitClose(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = err;
    for (const cb of this.closeCbs.splice(0)) cb(err);
  }
}
