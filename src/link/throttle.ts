/**
 * A Link wrapper that delivers bytes in both directions no faster than a UART at a
 * given rate, for tests and demos that want real-hardware timing over a fast socket
 * (QEMU does not throttle its serial port). 10 bits per byte (8N1). With jitter,
 * each burst waits a further random 0..jitter ms, as a USB serial adapter's
 * polling does; bytes keep their order.
 */
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { BaseLink } from './link';

const TICK_MS = 5;

class Pacer {
  private queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private credit = 0;

  private holdUntil = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly deliver: (chunk: Buffer) => void,
    private readonly jitterMs = 0,
  ) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
    if (!this.timer) {
      if (this.jitterMs > 0) this.holdUntil = Date.now() + Math.random() * this.jitterMs;
      this.last = Date.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  private tick(): void {
    const now = Date.now();
    if (now < this.holdUntil) {
      this.last = now;
      return;
    }
    this.credit += ((now - this.last) * this.bytesPerSecond) / 1000;
    this.last = now;
    while (this.queue.length > 0 && this.credit >= 1) {
      const head = this.queue[0];
      const n = Math.min(head.length, Math.floor(this.credit));
      this.credit -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.deliver(head.subarray(0, n));
    }
    if (this.queue.length === 0) {
      this.stop();
      this.credit = 0;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

class ThrottledLink extends BaseLink {
  readonly description: string;
  private readonly rx: Pacer;
  private readonly tx: Pacer;

  constructor(
    private readonly inner: Link,
    baud: number,
    jitterMs: number,
  ) {
    super();
    // Not starting with "tcp:": the client then scales its timeouts for a slow line.
    this.description = `throttled to ${baud} baud${jitterMs ? ` (jitter ${jitterMs} ms)` : ''}: ${inner.description}`;
    const bps = baud / 10;
    this.rx = new Pacer(bps, (c) => this.emitData(c), jitterMs);
    this.tx = new Pacer(
      bps,
      (c) => {
        if (!inner.closed) inner.write(c);
      },
      jitterMs,
    );
    inner.onData((c) => this.rx.push(c));
    inner.onClose((err) => {
      this.rx.stop();
      this.tx.stop();
      this.emitClose(err);
    });
  }

  write(data: Buffer): void {
    if (this.closed) throw new JosgdbError('LINK_CLOSED', `${this.description} is closed`);
    this.tx.push(Buffer.from(data));
  }

  close(): void {
    this.inner.close();
  }
}

export interface ThrottleOptions {
  baud: number;
  /** Extra random delay per burst, 0..jitterMs. */
  jitterMs?: number;
}

/** Wraps `link` so both directions run at most at `baud` (8N1: baud / 10 bytes per second). */
export function throttleLink(link: Link, baud: number, opts: { jitterMs?: number } = {}): Link {
  return new ThrottledLink(link, baud, opts.jitterMs ?? 0);
}
